package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// A volume snapshot task restores VolumeSnapshotter components only, and
// data tasks never do.
func TestCheckSnapshotDriverOfTasks(t *testing.T) {
	vs := storagev1alpha1.Component{Driver: storagev1alpha1.DriverVolumeSnapshotter,
		VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{{PVCName: "data", VolumeSnapshotName: "vs"}}}
	kopia := storagev1alpha1.Component{Driver: storagev1alpha1.DriverKopia, KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: "k", HostPath: "/data"}}}
	for _, tc := range []struct {
		name    string
		task    string
		comp    storagev1alpha1.Component
		wantErr string
	}{
		{name: "volume snapshot task, VolumeSnapshotter component", task: invocation.TaskVolumeSnapshotRestore, comp: vs},
		{name: "docs' alias", task: invocation.TaskVolumeSnapshotRestoreAlias, comp: vs},
		{name: "stats without a driver name", task: invocation.TaskVolumeSnapshotRestore,
			comp: storagev1alpha1.Component{VolumeSnapshotterStats: vs.VolumeSnapshotterStats}},
		{name: "volume snapshot task, Kopia component", task: invocation.TaskVolumeSnapshotRestore, comp: kopia,
			wantErr: `driver Kopia: task "volume-snapshot-restore" restores only VolumeSnapshotter components`},
		{name: "VolumeSnapshotter without stats", task: invocation.TaskVolumeSnapshotRestore,
			comp: storagev1alpha1.Component{Driver: storagev1alpha1.DriverVolumeSnapshotter}, wantErr: "has no volumeSnapshotterStats"},
		{name: "data task, VolumeSnapshotter component", task: "logical-backup-restore", comp: vs,
			wantErr: "driver VolumeSnapshotter: only Kopia snapshots can be restored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &corev1alpha1.RestoreSession{Spec: corev1alpha1.RestoreSessionSpec{
				DataSource: corev1alpha1.RestoreDataSource{Repository: "repo", Snapshot: "snap"},
				Addon:      corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: tc.task}}},
			}}
			snap := &storagev1alpha1.Snapshot{
				ObjectMeta: metav1.ObjectMeta{Name: "snap", Namespace: "demo"},
				Spec:       storagev1alpha1.SnapshotSpec{Repository: "repo"},
				Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded,
					Components: map[string]storagev1alpha1.Component{"volumesnapshot": tc.comp}},
			}
			errs := checkSnapshot(snap, rs.Spec.DataSource, restoredDriver(rs), field.NewPath("spec", "dataSource", "snapshot"))
			got := errs.ToAggregate()
			if (tc.wantErr == "") != (got == nil) || (got != nil && !strings.Contains(got.Error(), tc.wantErr)) {
				t.Errorf("errors %v, want %q", got, tc.wantErr)
			}
		})
	}
}

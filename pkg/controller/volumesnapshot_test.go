package controller

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
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

// A volume snapshot restore reads no repository data: with neither the
// encryption Secret nor the storage's credentials Secret in the cluster it
// passes validation and runs its Jobs, whose Role grants no Secret and
// whose pods mount nothing of the storage.
func TestVolumeSnapshotRestoreNeedsNoSecrets(t *testing.T) {
	f := newFixture(t)
	// The Repository and the RestoreSession name an encryption Secret that
	// does not exist; the S3 storage names a credentials Secret that does
	// not exist either.
	f.removeObject(newSecret(testNS, testSecret, ""))
	repo := newRepository()
	repo.Spec.EncryptionSecret = &common.ObjectReference{Name: testSecret, Namespace: testNS}
	f.replaceObject(repo)
	bs := s3BackupStorage()
	bs.Spec.Storage.S3.SecretName = "s3-credentials"
	f.replaceObject(bs)
	snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
	snap.Status.Components = map[string]storagev1alpha1.Component{"volumesnapshot": {
		Driver: storagev1alpha1.DriverVolumeSnapshotter, Phase: storagev1alpha1.SnapshotSucceeded,
		VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{{PVCName: "data", VolumeSnapshotName: "data-1702543201"}},
	}}
	f.replaceObject(snap)
	f.replaceObject(&addonsv1alpha1.Addon{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-addon"},
		Spec: addonsv1alpha1.AddonSpec{RestoreTasks: []addonsv1alpha1.Task{{
			Name: invocation.TaskVolumeSnapshotRestore, Function: "volumesnapshot-restore", Executor: addonsv1alpha1.ExecutorJob,
		}}},
	})
	f.replaceObject(&addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "volumesnapshot-restore"},
		Spec:       addonsv1alpha1.FunctionSpec{Image: "ghcr.io/restore-controller/executor:v1", Args: []string{"restore-volumesnapshot"}},
	})
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Target = nil
		rs.Spec.DataSource.Components = nil
		rs.Spec.Addon = corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{
			Name: invocation.TaskVolumeSnapshotRestore,
			TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{
				ObjectMeta: metav1.ObjectMeta{Name: "restore-data"},
			}}},
		}}}
	})
	f.start()
	f.mustSync()

	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
	jobs := f.jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs, want one for component volumesnapshot; status %+v", len(jobs), rs.Status)
	}
	pod := jobs[0].Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Secret != nil || v.Projected != nil && len(v.Projected.Sources) > 0 && v.Projected.Sources[0].Secret != nil {
			t.Errorf("the Job mounts Secret volume %s", v.Name)
		}
	}
	for _, c := range pod.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("container %s gets env %s from Secret %s", c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	role, err := f.kubeClient.RbacV1().Roles(testNS).Get(context.Background(), "restore-executor-sample-restore", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "secrets") {
			t.Errorf("the executor's Role grants Secrets %v: a volume snapshot restore reads none", r.ResourceNames)
		}
	}
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.Resources, "persistentvolumeclaims") && slices.Contains(r.Verbs, "create")
	}) {
		t.Errorf("the executor's Role does not grant creating claims: %+v", role.Rules)
	}
}

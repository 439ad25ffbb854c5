package controller

import (
	"fmt"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// A volume snapshot restore (task invocation.TaskVolumeSnapshotRestore or
// its alias) restores the components of a VolumeSnapshotter backup: the
// executor in each component's Job creates the PVCs of the task's
// volumeClaimTemplates from the component's VolumeSnapshots. The
// controller only checks the Snapshot's driver and grants the executor
// PVC creation in the RestoreSession's namespace (grants.go); the Job
// mounts no target volume (jobbuild). It reads no repository data
// (refs.ReadsRepositoryData), so neither the encryption Secret nor the
// storage's credentials are required, granted or given to the Job, and
// the Job gets nothing of the BackupStorage (jobbuild.ReadStorage).

// volumeSnapshotTaskIndex is the index of the first volume snapshot task,
// or -1.
func volumeSnapshotTaskIndex(s *restoreState) int {
	for i, t := range s.tasks {
		if t.RestoresVolumeSnapshots() {
			return i
		}
	}
	return -1
}

// restoredDriver is the driver of the components the RestoreSession's
// tasks restore: VolumeSnapshotter for a volume snapshot task, else this
// project's Kopia.
func restoredDriver(rs *corev1alpha1.RestoreSession) storagev1alpha1.Driver {
	if !refs.ReadsRepositoryData(rs) {
		return storagev1alpha1.DriverVolumeSnapshotter
	}
	return storagev1alpha1.DriverKopia
}

// driverMismatchMessage says why a component cannot be restored by the
// tasks: it was stored by driver got, they restore want.
func driverMismatchMessage(comp, snapshot string, got, want storagev1alpha1.Driver) string {
	if want == storagev1alpha1.DriverVolumeSnapshotter {
		return fmt.Sprintf("component %q of Snapshot %s was backed up with driver %s: task %q restores only %s components",
			comp, snapshot, got, invocation.TaskVolumeSnapshotRestore, want)
	}
	return fmt.Sprintf("component %q of Snapshot %s was backed up with driver %s: only %s snapshots can be restored", comp, snapshot, got, want)
}

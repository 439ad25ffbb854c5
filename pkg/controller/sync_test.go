package controller

import (
	"testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// TestProgressReportsCostNoAPICalls: once the Jobs exist, a sync woken by an
// restore executor's progress report reads only the cache and writes nothing, as
// long as the report leaves status.progress's summary unchanged (it moves
// in steps of ten percent, see status.Progress).
func TestProgressReportsCostNoAPICalls(t *testing.T) {
	f := newFixture(t)
	f.start().mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning})
	f.mustSync() // phase Running is written
	f.updateRS(func(rs *corev1alpha1.RestoreSession) {
		c := rs.Status.Components["pod-0"]
		c.Progress = &corev1alpha1.RestoreProgress{TotalBytes: 100, RestoredBytes: 5, Percentage: 5}
		rs.Status.Components["pod-0"] = c
	})
	if _, err := f.sync(); err != nil { // sync clears the recorded actions first
		t.Fatal(err)
	}
	if a := f.kubeClient.Actions(); len(a) != 0 {
		t.Errorf("sync after a progress report called the Kubernetes API: %v", a)
	}
	if a := f.client.Actions(); len(a) != 0 {
		t.Errorf("sync after a progress report called the API: %v", a)
	}
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

func TestWatchRestoreJobs(t *testing.T) {
	const (
		job0 = "restore-sample-restore-pod-0"
		job2 = "restore-sample-restore-pod-2"
	)
	tests := []struct {
		name       string
		components map[string]corev1alpha1.RestorePhase
		jobs       map[string]batchv1.JobConditionType // finished Jobs
		deleteJob  string
		// want RestoreIncomplete True with these fragments; none: not set
		incomplete []string
		// final: the restore ended and its final step ran
		final     bool
		wantPhase corev1alpha1.RestorePhase
	}{
		{
			name:       "Job failed while its component runs, the other finished",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning, "pod-2": corev1alpha1.RestoreSucceeded},
			jobs:       map[string]batchv1.JobConditionType{job0: batchv1.JobFailed, job2: batchv1.JobComplete},
			incomplete: []string{job0, `component "pod-0"`, "BackoffLimitExceeded", "Job has reached the specified backoff limit"},
			final:      true,
			wantPhase:  corev1alpha1.RestoreFailed,
		},
		{
			// The restore does not end, and backups stay paused, while
			// another restore executor may still write.
			name:       "Job failed while its component runs, the other still running",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning, "pod-2": corev1alpha1.RestoreRunning},
			jobs:       map[string]batchv1.JobConditionType{job0: batchv1.JobFailed},
			incomplete: []string{job0, "BackoffLimitExceeded"},
			wantPhase:  corev1alpha1.RestoreRunning,
		},
		{
			name:       "Job completed without reporting its component",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded},
			jobs:       map[string]batchv1.JobConditionType{job0: batchv1.JobComplete, job2: batchv1.JobComplete},
			incomplete: []string{job2, "completed without reporting"},
			final:      true,
			wantPhase:  corev1alpha1.RestoreFailed,
		},
		{
			name:       "Job deleted while its component runs",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreRunning},
			deleteJob:  job2,
			incomplete: []string{job2, "was deleted before the component finished"},
			final:      true,
			wantPhase:  corev1alpha1.RestoreFailed,
		},
		{
			name:       "Job complete, component succeeded, other still running",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreRunning},
			jobs:       map[string]batchv1.JobConditionType{job0: batchv1.JobComplete},
			wantPhase:  corev1alpha1.RestoreRunning,
		},
		{
			name:       "Job failed after its component failed",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreFailed, "pod-2": corev1alpha1.RestoreRunning},
			jobs:       map[string]batchv1.JobConditionType{job0: batchv1.JobFailed},
			wantPhase:  corev1alpha1.RestoreRunning,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t).start()
			f.mustSync()
			if len(tt.components) > 0 {
				f.setComponents(tt.components)
			}
			for name, ct := range tt.jobs {
				if ct == batchv1.JobFailed {
					f.setJobCondition(name, ct, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
				} else {
					f.setJobCondition(name, ct, "", "")
				}
			}
			if tt.deleteJob != "" {
				if err := f.kubeClient.BatchV1().Jobs(testNS).Delete(context.Background(), tt.deleteJob, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				f.refresh()
			}
			before := f.rs().Status.Components
			f.events()
			f.mustSync()
			rs := f.rs()
			if len(tt.incomplete) > 0 {
				expectCondition(t, rs, corev1alpha1.TypeRestoreIncomplete, metav1.ConditionTrue, corev1alpha1.ReasonRestoreExecutorTerminatedBeforeCompletion, tt.incomplete...)
				if ev := f.events(); !hasEvent(ev, "Warning "+EventReasonRestoreJobEnded) {
					t.Errorf("no %s event in %v", EventReasonRestoreJobEnded, ev)
				}
			} else if c := condition(rs, corev1alpha1.TypeRestoreIncomplete); c != nil {
				t.Errorf("RestoreIncomplete set: %+v", c)
			}
			if got := status.FinalStepExecuted(&rs.Status); got != tt.final {
				t.Errorf("final step executed = %t, want %t", got, tt.final)
			}
			if fmt.Sprint(rs.Status.Components) != fmt.Sprint(before) {
				t.Errorf("components changed by the controller:\n%v\nwas\n%v", rs.Status.Components, before)
			}
			expectPhase(t, rs, tt.wantPhase)
		})
	}
}

// A Job seen finished while the cached RestoreSession is older than the
// API's: the restore executor's last status write may not have arrived yet, so the
// controller retries instead of declaring the restore incomplete.
func TestWatchRestoreJobsStaleCache(t *testing.T) {
	f := newFixture(t).start()
	f.mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning})
	f.mustSync()
	f.setJobCondition("restore-sample-restore-pod-0", batchv1.JobComplete, "", "")
	// The restore executor reported success; the cache has not seen it.
	api := f.rs().DeepCopy()
	api.ResourceVersion = "2"
	api.Status.Components["pod-0"] = corev1alpha1.ComponentRestoreStatus{Phase: corev1alpha1.RestoreSucceeded}
	if err := f.client.Tracker().Update(gvrRestoreSessions, api, testNS); err != nil {
		t.Fatal(err)
	}
	_, err := f.sync()
	if !errors.Is(err, errStaleCache) {
		t.Fatalf("err = %v, want errStaleCache", err)
	}
	rs := f.rs()
	if c := condition(rs, corev1alpha1.TypeRestoreIncomplete); c != nil {
		t.Errorf("RestoreIncomplete set from a stale cache: %+v", c)
	}
	if rs.Status.Components["pod-0"].Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("the restore executor's report was overwritten: %+v", rs.Status.Components)
	}
	if n := countPrefix(f.writes(), "update restoresessions/status"); n != 0 {
		t.Errorf("status written from a stale cache: %v", f.writes())
	}
}

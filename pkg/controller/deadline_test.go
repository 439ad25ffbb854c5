package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
)

func TestDeadline(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects, newBackupConfiguration("same-target", stsTarget(testSTS), false, nil))
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: 10 * time.Minute}
	})
	f.start()
	res := f.mustSync()
	deadline := testStart.Add(10 * time.Minute)
	rs := f.rs()
	if d := rs.Status.RestoreDeadline; d == nil || !d.Time.Equal(deadline) {
		t.Fatalf("restoreDeadline = %v, want %v", d, deadline)
	}
	if res.requeueAfter <= 0 || res.requeueAfter > 10*time.Minute+time.Second {
		t.Errorf("requeueAfter = %v, want the deadline", res.requeueAfter)
	}
	for _, job := range f.jobs() {
		if ads := job.Spec.ActiveDeadlineSeconds; ads == nil || *ads != 600 {
			t.Errorf("Job %s activeDeadlineSeconds = %v, want 600", job.Name, ads)
		}
	}

	// Later syncs never move the deadline.
	f.clock.Step(5 * time.Minute)
	res = f.mustSync()
	if d := f.rs().Status.RestoreDeadline; !d.Time.Equal(deadline) {
		t.Errorf("restoreDeadline moved to %v", d)
	}
	if res.requeueAfter <= 0 || res.requeueAfter > 5*time.Minute+time.Second {
		t.Errorf("requeueAfter = %v, want the remaining 5m", res.requeueAfter)
	}

	// pod-0 finishes, pod-2 does not.
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreRunning})
	f.setJobCondition(names.RestoreJob(f.rs(), "pod-0"), batchv1.JobComplete, "", "")
	f.clock.Step(6 * time.Minute)
	f.events()
	f.mustSync()

	rs = f.rs()
	// The message names the storage the restore read from: it may have
	// been unreachable.
	wantMsg := fmt.Sprintf(MessageDeadlineExceeded, "10m0s", deadline.Format(time.RFC3339), 1, 2,
		fmt.Sprintf("BackupStorage %s/%s (local %s)", testNS, testStorage, testBackendMount))
	expectCondition(t, rs, corev1alpha1.TypeDeadlineExceeded, metav1.ConditionTrue, corev1alpha1.ReasonFailedToCompleteWithinDeadline)
	if c := condition(rs, corev1alpha1.TypeDeadlineExceeded); c != nil && c.Message != wantMsg {
		t.Errorf("message = %q, want %q", c.Message, wantMsg)
	}
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	jobs := f.jobs()
	if len(jobs) != 1 || jobs[0].Annotations[AnnotationComponent] != "pod-0" {
		t.Errorf("remaining Jobs = %d, want only the finished pod-0", len(jobs))
	}
	if bc := f.bc("same-target"); bc.Spec.Paused {
		t.Errorf("backup not resumed at the deadline")
	}
	ev := f.events()
	if !hasEvent(ev, "Warning "+EventReasonDeadlineExceeded) || !hasEvent(ev, "Warning "+EventReasonRestoreFailed) {
		t.Errorf("events %v lack %s and %s", ev, EventReasonDeadlineExceeded, EventReasonRestoreFailed)
	}
	if rs.Status.Components["pod-2"].Phase != corev1alpha1.RestoreRunning {
		t.Errorf("the controller changed a component: %+v", rs.Status.Components)
	}
}

// Components that all finished just before the deadline are no failure.
func TestDeadlinePassedAfterAllComponentsFinished(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: time.Minute}
	})
	f.start().mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
	f.clock.Step(2 * time.Minute)
	f.mustSync()
	rs := f.rs()
	expectPhase(t, rs, corev1alpha1.RestoreSucceeded)
	if condition(rs, corev1alpha1.TypeDeadlineExceeded) != nil {
		t.Errorf("DeadlineExceeded set although every component finished")
	}
	if n := countPrefix(f.writes(), "delete jobs"); n != 0 {
		t.Errorf("deleted %d Jobs", n)
	}
}

// The deadline, once set, holds even if spec.restoreTimeout is removed; the
// controller must not crash on it.
func TestDeadlineAfterTimeoutRemoved(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: time.Minute}
	})
	f.start().mustSync()
	f.updateRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.RestoreTimeout = nil })
	f.clock.Step(2 * time.Minute)
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeDeadlineExceeded, metav1.ConditionTrue, corev1alpha1.ReasonFailedToCompleteWithinDeadline, "since removed")
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	if n := countPrefix(f.writes(), "delete jobs"); n != 2 {
		t.Errorf("deleted %d Jobs, want 2", n)
	}
}

// The deadline counts from when the restore starts running, not from the
// first sync of a RestoreSession that waited Invalid for longer than its
// timeout.
func TestDeadlineCountsFromValidation(t *testing.T) {
	f := newFixture(t)
	f.removeObject(newFunction())
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: 10 * time.Minute}
	})
	f.start().mustSync()
	rs := f.rs()
	expectPhase(t, rs, corev1alpha1.RestoreInvalid)
	if d := rs.Status.RestoreDeadline; d != nil {
		t.Errorf("an Invalid restore has restoreDeadline %v, want none until it runs", d)
	}

	f.clock.Step(15 * time.Minute)
	if _, err := f.client.AddonsV1alpha1().Functions().Create(context.Background(), newFunction(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.mustSync()
	rs = f.rs()
	want := testStart.Add(25 * time.Minute)
	if d := rs.Status.RestoreDeadline; d == nil || !d.Time.Equal(want) {
		t.Errorf("restoreDeadline = %v, want %v (10m after validation passed)", d, want)
	}
	if rs.Status.Phase != corev1alpha1.RestorePending || condition(rs, corev1alpha1.TypeDeadlineExceeded) != nil {
		t.Errorf("phase %s, want Pending (its Jobs created) without DeadlineExceeded: %+v", rs.Status.Phase, rs.Status.Conditions)
	}
	if n := len(f.jobs()); n != 2 {
		t.Errorf("got %d Jobs, want 2", n)
	}
}

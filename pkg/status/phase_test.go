package status

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func cond(t string, s metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: "Test", Message: "test"}
}

func components(phases ...api.RestorePhase) map[string]api.ComponentRestoreStatus {
	m := map[string]api.ComponentRestoreStatus{}
	for i, p := range phases {
		m["pod-"+string(rune('0'+i))] = api.ComponentRestoreStatus{Phase: p}
	}
	return m
}

const (
	T = metav1.ConditionTrue
	F = metav1.ConditionFalse
)

func TestCalculatePhase(t *testing.T) {
	final := cond(api.TypeMetricsPushed, T)
	tests := []struct {
		name       string
		conditions []metav1.Condition
		total      int32
		components map[string]api.ComponentRestoreStatus
		want       api.RestorePhase
	}{
		{name: "new object", want: api.RestorePending},
		{name: "validated, no components yet", conditions: []metav1.Condition{cond(api.TypeValidationPassed, T)}, total: 2, want: api.RestorePending},
		{name: "metrics push failed wins over everything", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypeValidationPassed, F), cond(api.TypeMetricsPushed, F)}, want: api.RestoreFailed},
		{name: "validation failed", conditions: []metav1.Condition{cond(api.TypeValidationPassed, F)}, want: api.RestoreInvalid},
		{name: "validation failed after final step", conditions: []metav1.Condition{cond(api.TypeValidationPassed, F), final}, want: api.RestoreInvalid},
		{name: "components running", total: 2, components: components(api.RestoreSucceeded, api.RestoreRunning), want: api.RestoreRunning},
		{name: "all succeeded but final step not run", total: 2, components: components(api.RestoreSucceeded, api.RestoreSucceeded), want: api.RestoreRunning},
		{name: "one failed but final step not run", total: 2, components: components(api.RestoreFailed, api.RestoreSucceeded), want: api.RestoreRunning},
		{name: "all succeeded and final step run", total: 2, components: components(api.RestoreSucceeded, api.RestoreSucceeded),
			conditions: []metav1.Condition{final}, want: api.RestoreSucceeded},
		{name: "one failed and final step run", total: 2, components: components(api.RestoreFailed, api.RestoreSucceeded),
			conditions: []metav1.Condition{final}, want: api.RestoreFailed},
		{name: "component never finished before final step", total: 2, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{final}, want: api.RestoreFailed},
		{name: "no component reported before final step", total: 2, conditions: []metav1.Condition{final}, want: api.RestoreFailed},
		{name: "pre-restore hooks failed", conditions: []metav1.Condition{cond(api.TypePreRestoreHooksExecutionSucceeded, F), final}, want: api.RestoreFailed},
		{name: "pre-restore hooks failed, final step pending", total: 1,
			conditions: []metav1.Condition{cond(api.TypePreRestoreHooksExecutionSucceeded, F)}, want: api.RestorePending},
		{name: "post-restore hooks failed", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypePostRestoreHooksExecutionSucceeded, F), final}, want: api.RestoreFailed},
		{name: "post-restore hooks succeeded", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypePostRestoreHooksExecutionSucceeded, T), cond(api.TypePreRestoreHooksExecutionSucceeded, T), final}, want: api.RestoreSucceeded},
		{name: "executor not ensured", total: 1, conditions: []metav1.Condition{cond(api.TypeRestoreExecutorEnsured, F), final}, want: api.RestoreFailed},
		{name: "restore incomplete", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypeRestoreIncomplete, T), final}, want: api.RestoreFailed},
		{name: "restore incomplete False is no failure", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypeRestoreIncomplete, F), final}, want: api.RestoreSucceeded},
		{name: "deadline exceeded", total: 1, components: components(api.RestoreSucceeded),
			conditions: []metav1.Condition{cond(api.TypeDeadlineExceeded, T), final}, want: api.RestoreFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &api.RestoreSessionStatus{Conditions: tt.conditions, TotalComponents: tt.total, Components: tt.components}
			if got := CalculatePhase(st); got != tt.want {
				t.Errorf("CalculatePhase() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestComponentsPhase(t *testing.T) {
	tests := []struct {
		name       string
		total      int32
		components map[string]api.ComponentRestoreStatus
		want       api.RestorePhase
		completed  bool
	}{
		{name: "none", total: 3, want: api.RestorePending},
		{name: "some running", total: 2, components: components(api.RestoreRunning, api.RestoreSucceeded), want: api.RestoreRunning},
		{name: "all succeeded", total: 2, components: components(api.RestoreSucceeded, api.RestoreSucceeded), want: api.RestoreSucceeded, completed: true},
		{name: "fewer reported than total", total: 3, components: components(api.RestoreSucceeded, api.RestoreSucceeded), want: api.RestoreRunning},
		{name: "one failed, others done", total: 2, components: components(api.RestoreFailed, api.RestoreSucceeded), want: api.RestoreFailed, completed: true},
		{name: "one failed, others running", total: 2, components: components(api.RestoreFailed, api.RestoreRunning), want: api.RestoreRunning},
		{name: "total not yet recorded", total: 0, components: components(api.RestoreRunning), want: api.RestoreRunning},
		{name: "total not yet recorded, all succeeded", total: 0, components: components(api.RestoreSucceeded), want: api.RestoreSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &api.RestoreSessionStatus{TotalComponents: tt.total, Components: tt.components}
			if got := ComponentsPhase(st); got != tt.want {
				t.Errorf("ComponentsPhase() = %s, want %s", got, tt.want)
			}
			if got := AllComponentsCompleted(st); got != tt.completed && tt.total > 0 {
				t.Errorf("AllComponentsCompleted() = %v, want %v", got, tt.completed)
			}
		})
	}
}

func TestSetConditionKeepsTransitionTime(t *testing.T) {
	st := &api.RestoreSessionStatus{}
	t0 := metav1.Unix(1000, 0)
	t1 := metav1.Unix(2000, 0)

	SetCondition(st, api.TypeValidationPassed, T, api.ReasonResourceValidationPassed, api.MessageResourceValidationPassed, 1, t0)
	SetCondition(st, api.TypeValidationPassed, T, api.ReasonResourceValidationPassed, api.MessageResourceValidationPassed, 1, t1)
	if len(st.Conditions) != 1 {
		t.Fatalf("got %d conditions, want 1", len(st.Conditions))
	}
	if got := st.Conditions[0].LastTransitionTime; !got.Equal(&t0) {
		t.Errorf("setting the same status moved lastTransitionTime to %v", got)
	}
	if !IsTrue(st, api.TypeValidationPassed) || IsFalse(st, api.TypeValidationPassed) {
		t.Errorf("IsTrue/IsFalse disagree with the condition %+v", st.Conditions[0])
	}

	SetCondition(st, api.TypeValidationPassed, F, api.ReasonResourceValidationFailed, "spec.addon.name: addon x not found", 2, t1)
	c := st.Conditions[0]
	if !c.LastTransitionTime.Equal(&t1) || c.Reason != api.ReasonResourceValidationFailed || c.ObservedGeneration != 2 {
		t.Errorf("a status change was not recorded: %+v", c)
	}
	if Has(st, api.TypeMetricsPushed) || FinalStepExecuted(st) {
		t.Errorf("Has reports a condition that was never set")
	}
	SetCondition(st, api.TypeMetricsPushed, F, api.ReasonFailedToPushMetrics, "connection refused", 2, t1)
	if !FinalStepExecuted(st) {
		t.Errorf("a False MetricsPushed still marks the final step as executed")
	}
}

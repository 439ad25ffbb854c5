package status

import (
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// CalculatePhase derives a RestoreSession's phase from its conditions and
// component statuses. The rules apply in order:
//
//  1. MetricsPushed False: Failed.
//  2. ValidationPassed False: Invalid.
//  3. After the final step, a failed step fails the restore: pre- or
//     post-restore hooks False, RestoreExecutorEnsured False,
//     RestoreIncomplete True or DeadlineExceeded True.
//  4. Otherwise the components decide. Before the final step the restore is
//     Pending while no component has reported and Running after; after it,
//     Succeeded when every component succeeded and Failed otherwise (a
//     component that never finished did not restore its data).
func CalculatePhase(st *corev1alpha1.RestoreSessionStatus) corev1alpha1.RestorePhase {
	if IsFalse(st, corev1alpha1.TypeMetricsPushed) {
		return corev1alpha1.RestoreFailed
	}
	if IsFalse(st, corev1alpha1.TypeValidationPassed) {
		return corev1alpha1.RestoreInvalid
	}
	final := FinalStepExecuted(st)
	if final && stepFailed(st) {
		return corev1alpha1.RestoreFailed
	}

	components := ComponentsPhase(st)
	switch {
	case !final && components == corev1alpha1.RestorePending:
		return corev1alpha1.RestorePending
	case !final:
		return corev1alpha1.RestoreRunning
	case components == corev1alpha1.RestoreSucceeded:
		return corev1alpha1.RestoreSucceeded
	default:
		return corev1alpha1.RestoreFailed
	}
}

// OutcomeSucceeded reports whether the restore has succeeded so far: every
// component restored and no step failed. It decides which post-restore
// hooks run (their executionPolicy), before the final step makes the phase.
func OutcomeSucceeded(st *corev1alpha1.RestoreSessionStatus) bool {
	return !stepFailed(st) && ComponentsPhase(st) == corev1alpha1.RestoreSucceeded
}

// stepFailed reports whether a step before the final one failed.
func stepFailed(st *corev1alpha1.RestoreSessionStatus) bool {
	return IsFalse(st, corev1alpha1.TypePreRestoreHooksExecutionSucceeded) ||
		IsFalse(st, corev1alpha1.TypePostRestoreHooksExecutionSucceeded) ||
		IsFalse(st, corev1alpha1.TypeRestoreExecutorEnsured) ||
		IsTrue(st, corev1alpha1.TypeRestoreIncomplete) ||
		IsTrue(st, corev1alpha1.TypeDeadlineExceeded)
}

// ComponentsPhase summarises the components: Pending when none has
// reported, Succeeded when all TotalComponents (or all reported components,
// if more) succeeded, Failed when every
// component finished and one failed, Running otherwise.
func ComponentsPhase(st *corev1alpha1.RestoreSessionStatus) corev1alpha1.RestorePhase {
	if len(st.Components) == 0 {
		return corev1alpha1.RestorePending
	}
	succeeded, failed := 0, 0
	for _, c := range st.Components {
		switch c.Phase {
		case corev1alpha1.RestoreSucceeded:
			succeeded++
		case corev1alpha1.RestoreFailed:
			failed++
		}
	}
	// Components may report before TotalComponents is recorded; never let
	// a zero total make a running restore look finished.
	total := max(int(st.TotalComponents), len(st.Components))
	switch {
	case succeeded == total:
		return corev1alpha1.RestoreSucceeded
	case failed > 0 && succeeded+failed >= total:
		return corev1alpha1.RestoreFailed
	default:
		return corev1alpha1.RestoreRunning
	}
}

// AllComponentsCompleted reports whether every one of TotalComponents has
// reached Succeeded or Failed.
func AllComponentsCompleted(st *corev1alpha1.RestoreSessionStatus) bool {
	if st.TotalComponents == 0 {
		return false
	}
	done := 0
	for _, c := range st.Components {
		if IsComponentFinished(c.Phase) {
			done++
		}
	}
	return done >= int(st.TotalComponents)
}

// IsComponentFinished reports whether a component phase is terminal.
func IsComponentFinished(p corev1alpha1.RestorePhase) bool {
	return p == corev1alpha1.RestoreSucceeded || p == corev1alpha1.RestoreFailed
}

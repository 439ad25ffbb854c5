package status

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// SetCondition sets a condition of st. The transition time changes only when
// the condition's status does, so a level-triggered sync that sets the same
// condition again leaves the status unchanged.
func SetCondition(st *corev1alpha1.RestoreSessionStatus, condType string, status metav1.ConditionStatus, reason, message string, generation int64, now metav1.Time) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
		LastTransitionTime: now,
	})
}

// IsTrue reports whether the condition is present and True.
func IsTrue(st *corev1alpha1.RestoreSessionStatus, condType string) bool {
	return meta.IsStatusConditionTrue(st.Conditions, condType)
}

// IsFalse reports whether the condition is present and False.
func IsFalse(st *corev1alpha1.RestoreSessionStatus, condType string) bool {
	return meta.IsStatusConditionFalse(st.Conditions, condType)
}

// Has reports whether the condition is present, whatever its status.
func Has(st *corev1alpha1.RestoreSessionStatus, condType string) bool {
	return meta.FindStatusCondition(st.Conditions, condType) != nil
}

// FinalStepExecuted reports whether the restore's final step (the metrics
// push) has run. After it, the restore is finished and is not processed again.
func FinalStepExecuted(st *corev1alpha1.RestoreSessionStatus) bool {
	return Has(st, corev1alpha1.TypeMetricsPushed)
}

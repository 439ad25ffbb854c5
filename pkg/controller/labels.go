package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
)

// Labels put on every object the controller creates for a RestoreSession.
// The Job informer watches only objects carrying LabelManagedBy.
const (
	LabelManagedBy        = "app.kubernetes.io/managed-by"
	ManagedByValue        = "kubestash.com"
	LabelInvokerName      = "kubestash.com/invoker-name"
	LabelInvokerNamespace = "kubestash.com/invoker-namespace"
	LabelInvokerKind      = "kubestash.com/invoker-kind"
	LabelComponent        = "restore.kubestash.com/component"

	// AnnotationComponent holds a Job's component name exactly; the label
	// may be shortened to fit label value rules.
	AnnotationComponent = "restore.kubestash.com/component"
	// AnnotationPausedBy marks a BackupConfiguration the controller paused,
	// with the namespace/name of the RestoreSession that paused it. Only
	// BackupConfigurations carrying it are resumed, so a backup its owner
	// paused stays paused.
	AnnotationPausedBy = "restore.kubestash.com/paused-by"
	// FinalizerRestore holds a RestoreSession until what it changed outside
	// its own namespace-scoped children is released: paused backups
	// resumed, grants in other namespaces revoked (cleanup.go).
	FinalizerRestore = "restore.kubestash.com/cleanup"

	kindRestoreSession = "RestoreSession"
)

// invokerLabels identify the RestoreSession that owns an object. They are
// how objects the controller cannot own (different namespace) are found for
// clean-up.
func invokerLabels(rs *corev1alpha1.RestoreSession) map[string]string {
	return map[string]string{
		LabelManagedBy:        ManagedByValue,
		LabelInvokerKind:      kindRestoreSession,
		LabelInvokerName:      names.LabelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
	}
}

// controllerRef makes the RestoreSession the controller of an object it
// owns: its Jobs, and its ServiceAccount, Role and RoleBinding in its own
// namespace. They are garbage-collected with it.
func controllerRef(rs *corev1alpha1.RestoreSession) metav1.OwnerReference {
	return *metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind(kindRestoreSession))
}

package controller

import (
	"fmt"
	"hash/fnv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
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
	// its own namespace-scoped children is undone: paused backups resumed,
	// permissions in other namespaces removed.
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
		LabelInvokerName:      labelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
	}
}

// labelValue makes s a valid label value, keeping it recognisable: names of
// up to 63 characters pass unchanged, longer ones are shortened with a hash.
func labelValue(s string) string {
	return boundedName(s, validation.LabelValueMaxLength)
}

// jobName is the name of the restore Job of one component. It is a pure
// function of the RestoreSession's name and the component: after a restart
// the controller finds the Job it created instead of creating another.
func jobName(rs *corev1alpha1.RestoreSession, component string) string {
	return boundedName("restore-"+rs.Name+"-"+component, validation.DNS1123LabelMaxLength)
}

// executorServiceAccountName names the ServiceAccount, Role and RoleBinding
// that give a RestoreSession's executors their permissions.
func executorServiceAccountName(rs *corev1alpha1.RestoreSession) string {
	return boundedName("restore-executor-"+rs.Name, validation.DNS1123LabelMaxLength)
}

// boundedName returns s when it is already a valid DNS-1123 label of at most
// limit characters. Otherwise it lowercases s, replaces disallowed
// characters, keeps a prefix and appends a hash of the original, so that
// distinct inputs ("a.b", "a-b", two long names sharing a prefix) stay
// distinct.
func boundedName(s string, limit int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	sanitized := strings.Trim(b.String(), "-")
	if sanitized == s && len(s) <= limit && s != "" {
		return s
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	suffix := fmt.Sprintf("%08x", h.Sum32())
	keep := min(len(sanitized), limit-len(suffix)-1)
	prefix := strings.TrimRight(sanitized[:keep], "-")
	if prefix == "" {
		return suffix
	}
	return prefix + "-" + suffix
}

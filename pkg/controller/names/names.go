// Package names names the objects the controller creates for a
// RestoreSession: its restore Jobs, hook Jobs, their service account and
// Roles, and their containers. Every name is a pure function of the
// RestoreSession and what the object is for, so that after a restart the
// controller finds the objects it created instead of creating them again
// (a name is the lock against duplicates), and every name is a valid
// DNS-1123 label of at most 63 characters, however long the
// RestoreSession's name is.
package names

import (
	"fmt"
	"hash/fnv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// LabelValue makes s a valid label value, keeping it recognisable: names of
// up to 63 characters pass unchanged, longer ones are shortened with a hash.
func LabelValue(s string) string {
	return Bounded(s, validation.LabelValueMaxLength)
}

// RestoreJob is the name of the restore Job of one component.
func RestoreJob(rs *corev1alpha1.RestoreSession, component string) string {
	return Bounded("restore-"+rs.Name+"-"+component, validation.DNS1123LabelMaxLength)
}

// HookJob names the Job of one attempt of a hook of a stage ("pre" or
// "post"). Each attempt has a Job of its own, so the Job of a failed
// attempt stays for its logs and the name says which attempt it was.
func HookJob(rs *corev1alpha1.RestoreSession, stage, hook string, attempt int32) string {
	return Bounded(fmt.Sprintf("%s-%shook-%s-%d", rs.Name, stage, hook, attempt), validation.DNS1123LabelMaxLength)
}

// ServiceAccount names the ServiceAccount the controller creates for the
// RestoreSession's Jobs, and the Role and RoleBinding that grant it its
// permissions in the RestoreSession's namespace.
func ServiceAccount(rs *corev1alpha1.RestoreSession) string {
	return Bounded("restore-executor-"+rs.Name, validation.DNS1123LabelMaxLength)
}

// ForeignRole names the Role and RoleBinding of the RestoreSession's
// service account in another namespace; it includes the RestoreSession's
// namespace, which the name alone does not make unique there.
func ForeignRole(rs *corev1alpha1.RestoreSession) string {
	return Bounded("restore-executor-"+rs.Namespace+"-"+rs.Name, validation.DNS1123LabelMaxLength)
}

// Container is a valid container name, unique in its pod, for the task at
// index of a restore Job.
func Container(task string, index int) string {
	return Bounded(fmt.Sprintf("%s-%d", task, index), validation.DNS1123LabelMaxLength)
}

// Bounded returns s when it is already a valid DNS-1123 label of at most
// limit characters. Otherwise it lowercases s, replaces disallowed
// characters, keeps a prefix and appends a hash of the original, so that
// distinct inputs ("a.b", "a-b", two long names sharing a prefix) stay
// distinct.
func Bounded(s string, limit int) string {
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

package refs

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// AnnotationAcceptManifestRestoresFrom, on a Namespace, is its owner's
// consent to manifest restores from RestoreSessions in other namespaces:
// a comma-separated list of those namespaces, or "*" for every namespace.
// Without it a namespace accepts manifest restores only from
// RestoreSessions of its own.
const AnnotationAcceptManifestRestoresFrom = "restore.kubestash.com/accept-manifest-restores-from"

// usagePolicyAllows reports whether an object in ownerNamespace, with the
// given usage policy, may be used from namespace, whose labels are
// nsLabels (needed only for a Selector policy: nil means not looked up).
// No policy, or no "from", means Same, as in KubeStash; a malformed
// selector allows nothing.
func usagePolicyAllows(policy *common.UsagePolicy, ownerNamespace, namespace string, nsLabels labels.Set) bool {
	if ownerNamespace == namespace {
		return true
	}
	if policy == nil || policy.AllowedNamespaces.From == nil {
		return false
	}
	switch *policy.AllowedNamespaces.From {
	case common.NamespacesFromAll:
		return true
	case common.NamespacesFromSelector:
		if policy.AllowedNamespaces.Selector == nil {
			return false
		}
		selector, err := metav1.LabelSelectorAsSelector(policy.AllowedNamespaces.Selector)
		if err != nil {
			return false
		}
		return selector.Matches(nsLabels)
	default:
		return false
	}
}

// needsNamespaceLabels reports whether deciding the policy for namespace
// needs that namespace's labels.
func needsNamespaceLabels(policy *common.UsagePolicy, ownerNamespace, namespace string) bool {
	return ownerNamespace != namespace && policy != nil && policy.AllowedNamespaces.From != nil &&
		*policy.AllowedNamespaces.From == common.NamespacesFromSelector
}

// CheckRestoreNamespace decides whether a RestoreSession in namespace
// rsNamespace may create objects in the manifest restore namespace target:
// always in its own namespace, elsewhere only when target's
// AnnotationAcceptManifestRestoresFrom lists rsNamespace or "*". The error
// says what the target's owner has to do.
func CheckRestoreNamespace(rsNamespace string, target *corev1.Namespace) error {
	if target.Name == rsNamespace {
		return nil
	}
	accepted := acceptedNamespaces(target.Annotations[AnnotationAcceptManifestRestoresFrom])
	if slices.Contains(accepted, "*") || slices.Contains(accepted, rsNamespace) {
		return nil
	}
	return fmt.Errorf("Namespace %q does not accept manifest restores from namespace %q: its owner must add %q to its annotation %s (a comma-separated list of namespaces, or \"*\")",
		target.Name, rsNamespace, rsNamespace, AnnotationAcceptManifestRestoresFrom)
}

func acceptedNamespaces(annotation string) []string {
	var out []string
	for _, ns := range strings.Split(annotation, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

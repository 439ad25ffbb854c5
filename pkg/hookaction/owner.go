package hookaction

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// OwnersOf returns the owner references of the named ReplicaSet in the
// pods' namespace. FilterOwned calls it to see through a Deployment's
// ReplicaSets; nil means ReplicaSets are not looked at.
type OwnersOf func(replicaSet string) ([]metav1.OwnerReference, error)

// FilterOwned keeps the pods owned by owner (a Pod executor's
// executor.pod.owner): a pod matches when one of its owner references has
// owner's API group, kind and name (and uid, when owner sets one; the
// version is ignored, references may name any served version), or, when
// it is owned by an apps ReplicaSet, when that ReplicaSet is, so that a
// Deployment owns its pods as users expect. A nil owner keeps every pod.
// The error says why none is left, or why a ReplicaSet could not be read.
func FilterOwned(pods []corev1.Pod, owner *v1alpha1.PodOwnerReference, replicaSetOwners OwnersOf) ([]corev1.Pod, error) {
	if owner == nil {
		return pods, nil
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("executor.pod.owner.apiVersion %q: %w", owner.APIVersion, err)
	}
	matches := func(ref metav1.OwnerReference) bool {
		refGV, err := schema.ParseGroupVersion(ref.APIVersion)
		return err == nil && refGV.Group == gv.Group && ref.Kind == owner.Kind && ref.Name == owner.Name &&
			(owner.UID == "" || ref.UID == owner.UID)
	}
	// ReplicaSets shared by several pods are read once.
	rsMatches := map[string]bool{}
	var out []corev1.Pod
	for _, pod := range pods {
		owned := false
		for _, ref := range pod.OwnerReferences {
			if matches(ref) {
				owned = true
				break
			}
			if replicaSetOwners == nil || ref.Kind != "ReplicaSet" || !isAppsGroup(ref.APIVersion) {
				continue
			}
			m, seen := rsMatches[ref.Name]
			if !seen {
				refs, err := replicaSetOwners(ref.Name)
				if err != nil {
					return nil, fmt.Errorf("reading ReplicaSet %s/%s, owner of pod %s: %w", pod.Namespace, ref.Name, pod.Name, err)
				}
				for _, r := range refs {
					m = m || matches(r)
				}
				rsMatches[ref.Name] = m
			}
			if m {
				owned = true
				break
			}
		}
		if owned {
			out = append(out, pod)
		}
	}
	if len(out) == 0 && len(pods) > 0 {
		return nil, fmt.Errorf("none of the %d selected pods is owned by %s %s (executor.pod.owner)", len(pods), owner.Kind, owner.Name)
	}
	return out, nil
}

func isAppsGroup(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == "apps"
}

// CheckOwner checks a Pod executor's owner filter for validation.
func CheckOwner(owner *v1alpha1.PodOwnerReference) error {
	if owner == nil {
		return nil
	}
	if _, err := schema.ParseGroupVersion(owner.APIVersion); err != nil {
		return fmt.Errorf("spec.executor.pod.owner.apiVersion %q is not a group/version: %v", owner.APIVersion, err)
	}
	if owner.Kind == "" || owner.Name == "" {
		return errors.New("spec.executor.pod.owner needs kind and name")
	}
	return nil
}

package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// usagePolicyAllows reports whether an object in ownerNamespace with the
// given usage policy may be used from namespace. No policy, or no "from",
// means Same, as in KubeStash.
func (c *Controller) usagePolicyAllows(ctx context.Context, policy *common.UsagePolicy, ownerNamespace, namespace string) (bool, error) {
	if ownerNamespace == namespace {
		return true, nil
	}
	if policy == nil || policy.AllowedNamespaces.From == nil {
		return false, nil
	}
	switch *policy.AllowedNamespaces.From {
	case common.NamespacesFromAll:
		return true, nil
	case common.NamespacesFromSelector:
		if policy.AllowedNamespaces.Selector == nil {
			return false, nil
		}
		selector, err := metav1.LabelSelectorAsSelector(policy.AllowedNamespaces.Selector)
		if err != nil {
			return false, nil
		}
		ns, err := c.kubeClient.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("reading namespace %s for a usage policy: %w", namespace, err)
		}
		return selector.Matches(labels.Set(ns.Labels)), nil
	default:
		return false, nil
	}
}

package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/pkg/status"
)

// Target kinds a RestoreSession can restore into.
const (
	kindStatefulSet = "StatefulSet"
	kindDeployment  = "Deployment"
	kindDaemonSet   = "DaemonSet"
	kindPVC         = "PersistentVolumeClaim"
)

// targetGroup is the API group of a target as the controller reads it:
// like KubeStash, it takes a StatefulSet, Deployment or DaemonSet with an
// empty apiGroup as one of group apps (the schema accepts both spellings).
// Every reader of a target's group goes through here, so both spellings
// name the same object.
func targetGroup(t *common.TypedObjectReference) string {
	if t.APIGroup == "" && (t.Kind == kindStatefulSet || t.Kind == kindDeployment || t.Kind == kindDaemonSet) {
		return appsv1.GroupName
	}
	return t.APIGroup
}

// supportedTarget reports whether the controller can look a target up and
// restore into its volumes.
func supportedTarget(group, kind string) bool {
	switch {
	case group == "apps" && (kind == kindStatefulSet || kind == kindDeployment || kind == kindDaemonSet):
		return true
	case group == "" && kind == kindPVC:
		return true
	default:
		return false
	}
}

const (
	messageTargetFound       = "Restore target %s %s/%s found."
	messageTargetNotFound    = "Restore target %s %s/%s does not exist yet; waiting for it."
	messageTargetUnsupported = "restore target kind %q in API group %q is not supported: use a StatefulSet, Deployment or DaemonSet (apps) or a PersistentVolumeClaim"
	messageTargetCheckFailed = "Unable to check restore target %s %s/%s: %v"
)

// findTarget looks the target up and records targetFound and
// RestoreTargetFound. A missing target is waited for: the sync is repeated
// every TargetPollInterval (targets are not watched) until it appears or
// the deadline passes. A RestoreSession without a target (a manifest
// restore) has nothing to find.
func (c *Controller) findTarget(ctx context.Context, s *restoreState) (bool, error) {
	t := s.rs.Spec.Target
	if t == nil {
		return true, nil
	}
	st := s.status()
	ns := refs.TargetNamespace(s.rs)
	group := targetGroup(t)
	var err error
	switch {
	case group == "apps" && t.Kind == kindStatefulSet:
		s.statefulSet, err = c.kubeClient.AppsV1().StatefulSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case group == "apps" && t.Kind == kindDeployment:
		_, err = c.kubeClient.AppsV1().Deployments(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case group == "apps" && t.Kind == kindDaemonSet:
		_, err = c.kubeClient.AppsV1().DaemonSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case group == "" && t.Kind == kindPVC:
		_, err = c.kubeClient.CoreV1().PersistentVolumeClaims(ns).Get(ctx, t.Name, metav1.GetOptions{})
	default:
		s.setCondition(corev1alpha1.TypeRestoreTargetFound, metav1.ConditionFalse, corev1alpha1.ReasonUnableToCheckTargetAvailability,
			fmt.Sprintf(messageTargetUnsupported, t.Kind, group))
		st.TargetFound = ptr.To(false)
		return false, nil
	}
	switch {
	case apierrors.IsNotFound(err):
		if !status.IsFalse(st, corev1alpha1.TypeRestoreTargetFound) {
			s.recordEvent(corev1.EventTypeWarning, EventReasonTargetNotFound, fmt.Sprintf(messageTargetNotFound, t.Kind, ns, t.Name))
		}
		st.TargetFound = ptr.To(false)
		s.setCondition(corev1alpha1.TypeRestoreTargetFound, metav1.ConditionFalse, corev1alpha1.ReasonRestoreTargetNotFound,
			fmt.Sprintf(messageTargetNotFound, t.Kind, ns, t.Name))
		s.result.requeueWithin(c.opts.TargetPollInterval)
		return false, nil
	case err != nil:
		s.setCondition(corev1alpha1.TypeRestoreTargetFound, metav1.ConditionFalse, corev1alpha1.ReasonUnableToCheckTargetAvailability,
			fmt.Sprintf(messageTargetCheckFailed, t.Kind, ns, t.Name, err))
		return false, err
	}
	st.TargetFound = ptr.To(true)
	s.setCondition(corev1alpha1.TypeRestoreTargetFound, metav1.ConditionTrue, corev1alpha1.ReasonRestoreTargetFound,
		fmt.Sprintf(messageTargetFound, t.Kind, ns, t.Name))
	return true, nil
}

package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 2, target: the restore target exists; records RestoreTargetFound.
// The target is read once per sync (readTarget), for this step, the
// restore Jobs' volumes and the pods of Pod hooks.

// supportedTarget reports whether the controller can look a target up and
// restore into its volumes.
func supportedTarget(group, kind string) bool {
	switch {
	case group == "apps" && (kind == refs.KindStatefulSet || kind == refs.KindDeployment || kind == refs.KindDaemonSet):
		return true
	case group == "" && kind == refs.KindPersistentVolumeClaim:
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

// targetWorkload is the restore target as one sync read it: a workload's
// pod selector and pod template, a StatefulSet's claim templates. A PVC
// target has none of them.
type targetWorkload struct {
	selector       *metav1.LabelSelector
	podTemplate    *corev1.PodTemplateSpec
	claimTemplates []corev1.PersistentVolumeClaim
}

// readTarget reads the restore target once per sync: the first call GETs
// it (targets are not watched, so there is no cache to read), later calls
// of the same sync return what it read. The restore Jobs (its volumes) and
// Pod hooks (its pods) both use it.
func (c *Controller) readTarget(ctx context.Context, s *restoreState) (*targetWorkload, error) {
	if s.targetRead {
		return s.target, s.targetErr
	}
	t := s.rs.Spec.Target
	ns := refs.TargetNamespace(s.rs)
	var w *targetWorkload
	var err error
	switch t.Kind {
	case refs.KindStatefulSet:
		var obj *appsv1.StatefulSet
		if obj, err = c.kubeClient.AppsV1().StatefulSets(ns).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
			w = &targetWorkload{selector: obj.Spec.Selector, podTemplate: &obj.Spec.Template, claimTemplates: obj.Spec.VolumeClaimTemplates}
		}
	case refs.KindDeployment:
		var obj *appsv1.Deployment
		if obj, err = c.kubeClient.AppsV1().Deployments(ns).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
			w = &targetWorkload{selector: obj.Spec.Selector, podTemplate: &obj.Spec.Template}
		}
	case refs.KindDaemonSet:
		var obj *appsv1.DaemonSet
		if obj, err = c.kubeClient.AppsV1().DaemonSets(ns).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
			w = &targetWorkload{selector: obj.Spec.Selector, podTemplate: &obj.Spec.Template}
		}
	case refs.KindPersistentVolumeClaim:
		if _, err = c.kubeClient.CoreV1().PersistentVolumeClaims(ns).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
			w = &targetWorkload{}
		}
	default:
		err = fmt.Errorf(messageTargetUnsupported, t.Kind, refs.TargetGroup(t))
	}
	s.target, s.targetErr, s.targetRead = w, err, true
	return w, err
}

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
	group := refs.TargetGroup(t)
	if !supportedTarget(group, t.Kind) {
		s.setCondition(corev1alpha1.TypeRestoreTargetFound, metav1.ConditionFalse, corev1alpha1.ReasonUnableToCheckTargetAvailability,
			fmt.Sprintf(messageTargetUnsupported, t.Kind, group))
		st.TargetFound = ptr.To(false)
		return false, nil
	}
	_, err := c.readTarget(ctx, s)
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

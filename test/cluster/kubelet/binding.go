package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// bind plays the scheduler: every unscheduled pod goes to this kubelet's
// node through the pods/binding subresource, like kube-scheduler does,
// after its claims that wait for their first consumer got this node as
// their selected node (selectNodeForClaims). The node has room for
// anything, so there is nothing to choose.
func (k *Kubelet) bind(pod *corev1.Pod) {
	ctx := k.ctx
	logger := klog.FromContext(ctx)
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.cfg.NodeName},
	}
	// One binding attempt per pod at a time; further events for the same
	// pod while it is being bound are ignored.
	if _, busy := k.binding.LoadOrStore(pod.UID, true); busy {
		return
	}
	go func() {
		defer k.binding.Delete(pod.UID)
		// Retry transient errors for a while; a conflict or a missing pod
		// means someone else bound or deleted it.
		_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			if err := k.selectNodeForClaims(ctx, pod); err != nil {
				logger.V(2).Info("Selecting the node for the pod's claims failed, retrying", "pod", klog.KObj(pod), "err", err)
				return false, nil
			}
			err := k.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
			switch {
			case err == nil:
				logger.V(2).Info("Bound pod", "pod", klog.KObj(pod), "node", k.cfg.NodeName)
				return true, nil
			case apierrors.IsConflict(err), apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err):
				return true, nil
			default:
				logger.V(2).Info("Binding pod failed, retrying", "pod", klog.KObj(pod), "err", err)
				return false, nil
			}
		})
	}()
}

package controller

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
)

// A restore executor reports its failures in the component's status. What
// it fails on before it can (bad flags, no client config, no API access,
// a crash) it writes to its container's termination message
// (invocation.EnvTerminationMessagePath); a container killed before it
// writes one gets the tail of its log instead (the containers'
// terminationMessagePolicy is FallbackToLogsOnError). When a restore Job
// fails while its component has no error, the controller copies the
// termination message of the Job's last failed container into the
// component's error (fillComponentError).

// messageContainerFailed: pod, container, exit code, termination message.
const messageContainerFailed = "pod %s container %s exited with code %d: %s"

// jobTerminationMessage returns the termination message of the container
// of the Job's pods that failed last, with where it came from; "" when no
// failed container left one. Pods are listed from the API (the controller
// keeps no pod cache): this runs once per failed restore Job.
func (c *Controller) jobTerminationMessage(ctx context.Context, job *batchv1.Job) (string, error) {
	selector := labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: string(job.UID)})
	pods, err := c.kubeClient.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		// Without the message the Job's own condition still tells the
		// failure: not worth failing the sync over.
		klog.FromContext(ctx).Info("Cannot read the failed restore Job's pods for its termination message", "job", klog.KObj(job), "err", err)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	var last *corev1.ContainerStateTerminated
	var lastPod, lastContainer string
	for i := range pods.Items {
		pod := &pods.Items[i]
		for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
			for _, cs := range statuses {
				t := cs.State.Terminated
				if t == nil || t.ExitCode == 0 || strings.TrimSpace(t.Message) == "" {
					continue
				}
				if last == nil || t.FinishedAt.After(last.FinishedAt.Time) {
					last, lastPod, lastContainer = t, pod.Name, cs.Name
				}
			}
		}
	}
	if last == nil {
		return "", nil
	}
	return fmt.Sprintf(messageContainerFailed, lastPod, lastContainer, last.ExitCode, strings.TrimSpace(last.Message)), nil
}

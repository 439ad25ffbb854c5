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

// The controller keeps no pod cache: it lists a Job's pods from the API
// only when it must look into them, once per failed restore Job
// (jobTerminationMessage) and when a Function hook's attempt may have
// outlived its timeout (jobPodStarted).

// listJobPods lists the pods the Job controller made for job (by the uid
// label it gives them).
func (c *Controller) listJobPods(ctx context.Context, job *batchv1.Job) (*corev1.PodList, error) {
	selector := labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: string(job.UID)})
	return c.kubeClient.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
}

// jobPodStarted returns when the latest started pod of job started
// (status.startTime: when the kubelet took it, what its
// activeDeadlineSeconds counts from), nil when none has.
func (c *Controller) jobPodStarted(ctx context.Context, job *batchv1.Job) (*metav1.Time, error) {
	pods, err := c.listJobPods(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	var latest *metav1.Time
	for i := range pods.Items {
		if st := pods.Items[i].Status.StartTime; st != nil && (latest == nil || st.After(latest.Time)) {
			latest = st
		}
	}
	return latest, nil
}

// messageContainerFailed: pod, container, exit code, termination message.
const messageContainerFailed = "pod %s container %s exited with code %d: %s"

// jobTerminationMessage returns the termination message of the container
// of the Job's pods that failed last, with where it came from; "" when no
// failed container left one.
func (c *Controller) jobTerminationMessage(ctx context.Context, job *batchv1.Job) (string, error) {
	pods, err := c.listJobPods(ctx, job)
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

package kubelet

import (
	"context"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// pushStatus writes the pod status computed from the worker's state. It
// keeps conditions set by others (for example DisruptionTarget) and
// retries on conflicts; a pod that is gone needs no status. While the API
// server cannot be reached (stopped, restarting) it keeps trying with
// back-off, as the real kubelet's status manager does, so a container that
// exited meanwhile is not left Running.
func (w *podWorker) pushStatus(ctx context.Context) {
	// Pushes are serialised and each snapshots the state only once it holds
	// pushMu, so a slower push can never overwrite a newer status.
	w.pushMu.Lock()
	defer w.pushMu.Unlock()
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: math.MaxInt32, Cap: 5 * time.Second}
	for {
		err := w.tryPushStatus(ctx)
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		w.logger.Error(err, "Updating pod status")
		if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) {
			return // refused, not unreachable: the same status would be refused again
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff.Step()):
		}
	}
}

// tryPushStatus is one attempt of pushStatus.
func (w *podWorker) tryPushStatus(ctx context.Context) error {
	w.mu.Lock()
	st := w.buildStatus()
	w.mu.Unlock()
	pods := w.k.client.CoreV1().Pods(w.pod.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, w.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != w.pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), w.pod.Name)
		}
		if isTerminal(cur.Status.Phase) && !isTerminal(st.Phase) {
			return nil // never move a finished pod backwards
		}
		next := st.DeepCopy()
		next.Conditions = mergeConditions(cur.Status.Conditions, st.Conditions)
		cur.Status = *next
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func isTerminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// buildStatus computes the status; mu must be held.
func (w *podWorker) buildStatus() corev1.PodStatus {
	phase := w.phase
	if phase == "" {
		phase = corev1.PodPending
		if w.initialized {
			for _, c := range w.main {
				if c.started {
					phase = corev1.PodRunning
				}
			}
		}
	}
	allReady := len(w.main) > 0
	for _, c := range w.main {
		allReady = allReady && c.ready
	}
	if isTerminal(phase) {
		allReady = false
	}
	cond := func(t corev1.PodConditionType, ok bool, reason string) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s, reason = corev1.ConditionTrue, ""
		}
		return corev1.PodCondition{Type: t, Status: s, Reason: reason}
	}
	notReadyReason := "ContainersNotReady"
	if isTerminal(phase) {
		notReadyReason = "PodCompleted"
	}
	st := corev1.PodStatus{
		Phase:     phase,
		Message:   w.message,
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     "127.0.0.1",
		PodIPs:    []corev1.PodIP{{IP: "127.0.0.1"}},
		StartTime: ptr.To(w.startTime),
		Conditions: []corev1.PodCondition{
			cond(corev1.PodReadyToStartContainers, w.volumesOK, "VolumesNotReady"),
			cond(corev1.PodInitialized, w.initialized, "ContainersNotInitialized"),
			cond(corev1.ContainersReady, allReady, notReadyReason),
			cond(corev1.PodReady, allReady, notReadyReason),
			cond(corev1.PodScheduled, true, ""),
		},
		QOSClass: w.pod.Status.QOSClass,
	}
	for _, c := range w.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.status())
	}
	for _, c := range w.main {
		st.ContainerStatuses = append(st.ContainerStatuses, c.status())
	}
	return st
}

func (c *container) status() corev1.ContainerStatus {
	image := "process://" + c.binary
	if c.binary == "" {
		image = "fake://" + c.spec.Image
	}
	return corev1.ContainerStatus{
		Name:                 c.spec.Name,
		Image:                c.spec.Image,
		ImageID:              image,
		ContainerID:          c.containerID,
		State:                *c.state.DeepCopy(),
		LastTerminationState: *c.last.DeepCopy(),
		Ready:                c.ready,
		Started:              ptr.To(c.started && c.state.Running != nil),
		RestartCount:         c.restarts,
	}
}

// mergeConditions replaces ours in cur (keeping transition times when the
// status did not change) and keeps the conditions others own.
func mergeConditions(cur, ours []corev1.PodCondition) []corev1.PodCondition {
	now := metav1.Now()
	byType := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range cur {
		byType[c.Type] = c
	}
	var out []corev1.PodCondition
	mine := map[corev1.PodConditionType]bool{}
	for _, c := range ours {
		mine[c.Type] = true
		if old, ok := byType[c.Type]; ok && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
		out = append(out, c)
	}
	for _, c := range cur {
		if !mine[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

package controller

import (
	"context"
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/jobbuild"
	"github.com/restore-controller/restore/pkg/controller/names"
)

// Labels and annotations of a hook Job. AnnotationHook holds the hook's
// stage and name exactly.
const (
	LabelHook             = "restore.kubestash.com/hook"
	AnnotationHook        = "restore.kubestash.com/hook"
	AnnotationHookAttempt = "restore.kubestash.com/hook-attempt"
)

// hookJobName names the Job of one attempt of a hook (names.HookJob); the
// name is the lock against creating an attempt twice.
func hookJobName(rs *corev1alpha1.RestoreSession, stage hookStage, hook string, attempt int32) string {
	return names.HookJob(rs, string(stage), hook, attempt)
}

// functionHookAttempt runs one attempt of a Function hook as a Job: it
// creates the Job (once the retry backoff after the previous attempt has
// passed), then reports it running until it completes, fails, or its pod
// outlives the hook's timeout (checkHookTimeout; then the controller
// deletes it, because the pod's own activeDeadlineSeconds is enforced by
// the kubelet, which may be slow to act).
func (c *Controller) functionHookAttempt(ctx context.Context, s *restoreState, stage hookStage, i int, h *resolvedHook, attempt int32) (hookResult, error) {
	rs := s.rs
	name := hookJobName(rs, stage, h.info.Name, attempt)
	job, err := c.jobs.Jobs(rs.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		if c.waitForHookRetry(s, hookAttemptKey{hookID: hookIDOf(rs, stage, i, h.info.Name), attempt: attempt}) {
			return hookResult{running: true}, nil
		}
		return c.startHookJob(ctx, s, stage, h, attempt)
	}
	if err != nil {
		return hookResult{}, err
	}
	if err := checkControlled(job, rs); err != nil {
		return hookResult{failure: err.Error()}, nil
	}
	if cond, finished := jobFinished(job); finished {
		if cond.Type == batchv1.JobComplete {
			return hookResult{}, nil
		}
		return hookResult{failure: fmt.Sprintf("hook Job %s failed (%s: %s)", name, cond.Reason, cond.Message)}, nil
	}
	if h.timeout > 0 {
		return c.checkHookTimeout(ctx, s, h, job)
	}
	return hookResult{running: true}, nil
}

// checkHookTimeout ends an attempt whose pod has run for the hook's
// timeout: it counts from the pod's start, as the pod's own
// activeDeadlineSeconds does (status.startTime: when a node's kubelet
// took the pod), not from the Job's creation, so time the pod waits
// unscheduled is not the hook's. A pod that never starts is bounded by
// the restore deadline only. Pods are listed only
// once the Job is older than the timeout: no pod of it can have run
// that long before.
func (c *Controller) checkHookTimeout(ctx context.Context, s *restoreState, h *resolvedHook, job *batchv1.Job) (hookResult, error) {
	if age := s.now.Sub(job.CreationTimestamp.Time); age < h.timeout {
		s.result.requeueWithin(h.timeout - age)
		return hookResult{running: true}, nil
	}
	started, err := c.jobPodStarted(ctx, job)
	if err != nil {
		return hookResult{}, err
	}
	if started == nil {
		// Look again within the timeout: a pod that starts meanwhile
		// cannot run out of it before then.
		s.result.requeueWithin(h.timeout)
		return hookResult{running: true}, nil
	}
	elapsed := s.now.Sub(started.Time)
	if elapsed < h.timeout {
		s.result.requeueWithin(h.timeout - elapsed)
		return hookResult{running: true}, nil
	}
	if err := c.deleteJob(ctx, job); err != nil {
		return hookResult{}, err
	}
	return hookResult{failure: fmt.Sprintf(messageHookJobTimedOut, job.Name, h.timeout)}, nil
}

// messageHookJobTimedOut: Job, timeout.
const messageHookJobTimedOut = "hook Job %s did not finish within the timeout of %s after its pod started"

func (c *Controller) startHookJob(ctx context.Context, s *restoreState, stage hookStage, h *resolvedHook, attempt int32) (hookResult, error) {
	// A hook that names no service account runs as the restore Jobs do,
	// with their grants; one that names its own, with that account's.
	serviceAccount, ownSA := jobServiceAccount(s.rs)
	grant := true
	if pod := hookPodSettings(h); pod != nil && pod.ServiceAccountName != "" {
		serviceAccount, ownSA, grant = pod.ServiceAccountName, false, false
	}
	pss, err := c.podSecurityOf(ctx, s.rs.Namespace)
	if err != nil {
		return hookResult{}, err
	}
	job, err := jobbuild.HookJob(hookJobInput(s, stage, h, attempt, serviceAccount, pss))
	if err != nil {
		return hookResult{failure: err.Error()}, nil
	}
	if grant {
		if err := c.ensureGrants(ctx, s, serviceAccount, ownSA); err != nil {
			if permanent(err) {
				return hookResult{failure: "unable to grant the hook its service account: " + err.Error()}, nil
			}
			return hookResult{}, err
		}
	}
	created, err := c.ensureJob(ctx, s.rs, job)
	if err != nil {
		if permanent(err) {
			return hookResult{failure: fmt.Sprintf("unable to create hook Job %s: %v", job.Name, err)}, nil
		}
		return hookResult{}, err
	}
	if created {
		klog.FromContext(ctx).Info("Created hook Job", "job", klog.KObj(job), "stage", stage, "hook", h.info.Name, "attempt", attempt)
		s.recordEvent(corev1.EventTypeNormal, EventReasonHookJobCreated,
			fmt.Sprintf("Created Job %s for attempt %d of %s hook %q.", job.Name, attempt, stage.title(), h.info.Name))
	}
	if h.timeout > 0 {
		s.result.requeueWithin(h.timeout)
	}
	return hookResult{running: true}, nil
}

func (c *Controller) deleteJob(ctx context.Context, job *batchv1.Job) error {
	propagation := metav1.DeletePropagationBackground
	err := c.kubeClient.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &propagation,
		Preconditions:     &metav1.Preconditions{UID: &job.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Job %s: %w", job.Name, err)
	}
	return nil
}

func hookPodSettings(h *resolvedHook) *corev1alpha1.PodRuntimeSettings {
	if h.info.RuntimeSettings == nil {
		return nil
	}
	return h.info.RuntimeSettings.Pod
}

// hookJobInput is what the Job of attempt `attempt` of a Function hook is
// built from.
func hookJobInput(s *restoreState, stage hookStage, h *resolvedHook, attempt int32, serviceAccount string, pss jobbuild.PodSecurity) jobbuild.HookJobInput {
	rs := s.rs
	labels := invokerLabels(rs)
	labels[LabelHook] = names.LabelValue(string(stage) + "-" + h.info.Name)
	return jobbuild.HookJobInput{
		Meta: jobbuild.Meta{
			Name:   hookJobName(rs, stage, h.info.Name, attempt),
			Labels: labels,
			Annotations: map[string]string{
				AnnotationHook:        string(stage) + "/" + h.info.Name,
				AnnotationHookAttempt: strconv.Itoa(int(attempt)),
			},
			Owner: controllerRef(rs),
		},
		RestoreSession: rs,
		Hook:           h.info,
		Executor:       h.template.Spec.Executor.Function,
		Function:       h.function,
		Variables:      hookVariables(s, h),
		Timeout:        h.timeout,
		ServiceAccount: serviceAccount,
		PodSecurity:    pss,
		Now:            s.now.Time,
	}
}

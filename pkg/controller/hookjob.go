package controller

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// Labels and annotations of a hook Job. AnnotationHook holds the hook's
// stage and name exactly.
const (
	LabelHook             = "restore.kubestash.com/hook"
	AnnotationHook        = "restore.kubestash.com/hook"
	AnnotationHookAttempt = "restore.kubestash.com/hook-attempt"
)

// hookJobName names the Job of one attempt of a hook. Each attempt has a
// Job of its own, so the Job of a failed attempt stays for its logs and the
// name says which attempt it was; the name is the lock against creating an
// attempt twice.
func hookJobName(rs *corev1alpha1.RestoreSession, stage hookStage, hook string, attempt int32) string {
	return boundedName(fmt.Sprintf("%s-%shook-%s-%d", rs.Name, stage, hook, attempt), validation.DNS1123LabelMaxLength)
}

// functionHookAttempt runs one attempt of a Function hook as a Job: it
// creates the Job (once the retry backoff after the previous attempt has
// passed), then reports it running until it completes, fails, or
// outlives the hook's timeout (then the controller deletes it, because the
// pod's own activeDeadlineSeconds is enforced by the kubelet, which may be
// slow to act).
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
		elapsed := s.now.Sub(job.CreationTimestamp.Time)
		if elapsed >= h.timeout {
			if err := c.deleteJob(ctx, job); err != nil {
				return hookResult{}, err
			}
			return hookResult{failure: fmt.Sprintf("hook Job %s did not finish within the timeout of %s", name, h.timeout)}, nil
		}
		s.result.requeueWithin(h.timeout - elapsed)
	}
	return hookResult{running: true}, nil
}

func (c *Controller) startHookJob(ctx context.Context, s *restoreState, stage hookStage, h *resolvedHook, attempt int32) (hookResult, error) {
	serviceAccount, ownSA := executorServiceAccount(s.rs)
	if pod := hookPodSettings(h); pod != nil && pod.ServiceAccountName != "" {
		serviceAccount, ownSA = pod.ServiceAccountName, false
	}
	pss, err := c.podSecurityOf(ctx, s.rs.Namespace)
	if err != nil {
		return hookResult{}, err
	}
	job, err := buildHookJob(s, stage, h, attempt, serviceAccount, pss)
	if err != nil {
		return hookResult{failure: err.Error()}, nil
	}
	if ownSA {
		if err := c.ensureExecutorPermissions(ctx, s, serviceAccount); err != nil {
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

// hookVariables are the values a hook's Function args or action may refer
// to: the restore's variables, the hook's params and its literal
// variables.
func hookVariables(s *restoreState, h *resolvedHook) map[string]string {
	vars := restoreVariables(s)
	maps.Copy(vars, h.params)
	addPlainVariables(vars, h.info.Variables)
	return vars
}

// buildHookJob returns the Job of one attempt of a Function hook: the
// Function's image and command with the hook's variables substituted, the
// template's and the hook's environment and volumes, and the hook's runtime
// settings, over the security defaults of the namespace's Pod Security
// level (see podsecurity.go). The Job does not retry by itself
// (backoffLimit 0): the hook's maxRetry is counted by the controller, one
// Job per attempt. A Job the namespace's Pod Security would not let start
// is an error.
func buildHookJob(s *restoreState, stage hookStage, h *resolvedHook, attempt int32, serviceAccount string, pss podSecurity) (*batchv1.Job, error) {
	rs := s.rs
	fn := h.function.Spec
	fnExec := h.template.Spec.Executor.Function
	vars := hookVariables(s, h)
	what := fmt.Sprintf("Function %q", h.function.Name)
	command, err := substituteAll(fn.Command, vars, what+" command")
	if err != nil {
		return nil, err
	}
	args, err := substituteAll(fn.Args, vars, what+" args")
	if err != nil {
		return nil, err
	}

	env := []corev1.EnvVar{
		{Name: invocation.EnvNamespace, Value: rs.Namespace},
		{Name: invocation.EnvRestoreSession, Value: rs.Name},
	}
	env = append(env, fn.Env...)
	env = append(env, fnExec.Env...)
	env = append(env, h.info.Variables...)

	var mounts []corev1.VolumeMount
	mounts = append(mounts, fn.VolumeMounts...)
	mounts = append(mounts, fnExec.VolumeMounts...)
	mounts = append(mounts, h.info.VolumeMounts...)
	volumes := append(append([]corev1.Volume{}, fnExec.Volumes...), h.info.Volumes...)

	ctr := corev1.Container{
		Name:                     "hook",
		Image:                    fn.Image,
		Command:                  command,
		Args:                     args,
		WorkingDir:               fn.WorkingDir,
		Env:                      env,
		VolumeMounts:             dedupeMounts(mounts),
		VolumeDevices:            fn.VolumeDevices,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	labels := invokerLabels(rs)
	labels[LabelHook] = labelValue(string(stage) + "-" + h.info.Name)
	annotations := map[string]string{
		AnnotationHook:        string(stage) + "/" + h.info.Name,
		AnnotationHookAttempt: strconv.Itoa(int(attempt)),
	}
	podMeta := metav1.ObjectMeta{Labels: labels, Annotations: annotations}
	podSpec := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: serviceAccount,
		Volumes:            volumes,
	}
	if rt := h.info.RuntimeSettings; rt != nil {
		applyContainerRuntimeSettings(&ctr, rt.Container)
		applyPodRuntimeSettings(&podMeta, &podSpec, rt.Pod)
	}
	podSpec.Containers = []corev1.Container{ctr}
	// A hook runs as its image's user where Pod Security allows root.
	pss.applySecurityDefaults(&podSpec, nil)
	if h.timeout > 0 {
		podSpec.ActiveDeadlineSeconds = ptr.To(int64(math.Ceil(h.timeout.Seconds())))
	}

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            hookJobName(rs, stage, h.info.Name, attempt),
			Namespace:       rs.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind(kindRestoreSession))},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template:     corev1.PodTemplateSpec{ObjectMeta: podMeta, Spec: podSpec},
		},
	}
	if d := rs.Status.RestoreDeadline; d != nil {
		remaining := math.Ceil(d.Sub(s.now.Time).Seconds())
		job.Spec.ActiveDeadlineSeconds = ptr.To(max(int64(remaining), 1))
	}
	if err := pss.admit(&job.Spec.Template); err != nil {
		return nil, fmt.Errorf("hook Job %s: %w", job.Name, err)
	}
	return job, nil
}

// applyPodRuntimeSettings lays pod runtime settings over a pod: each
// setting given replaces the pod's, labels and annotations are added.
func applyPodRuntimeSettings(meta *metav1.ObjectMeta, spec *corev1.PodSpec, prs *corev1alpha1.PodRuntimeSettings) {
	if prs == nil {
		return
	}
	meta.Labels = merged(prs.PodLabels, meta.Labels)
	meta.Annotations = merged(prs.PodAnnotations, meta.Annotations)
	if prs.NodeSelector != nil {
		spec.NodeSelector = prs.NodeSelector
	}
	if prs.ServiceAccountName != "" {
		spec.ServiceAccountName = prs.ServiceAccountName
	}
	if prs.AutomountServiceAccountToken != nil {
		spec.AutomountServiceAccountToken = prs.AutomountServiceAccountToken
	}
	if prs.NodeName != "" {
		spec.NodeName = prs.NodeName
	}
	if prs.SecurityContext != nil {
		spec.SecurityContext = prs.SecurityContext
	}
	if prs.ImagePullSecrets != nil {
		spec.ImagePullSecrets = prs.ImagePullSecrets
	}
	if prs.Affinity != nil {
		spec.Affinity = prs.Affinity
	}
	if prs.SchedulerName != "" {
		spec.SchedulerName = prs.SchedulerName
	}
	if prs.Tolerations != nil {
		spec.Tolerations = prs.Tolerations
	}
	if prs.PriorityClassName != "" {
		spec.PriorityClassName = prs.PriorityClassName
	}
	if prs.Priority != nil {
		spec.Priority = prs.Priority
	}
	if prs.ReadinessGates != nil {
		spec.ReadinessGates = prs.ReadinessGates
	}
	if prs.RuntimeClassName != nil {
		spec.RuntimeClassName = prs.RuntimeClassName
	}
	if prs.EnableServiceLinks != nil {
		spec.EnableServiceLinks = prs.EnableServiceLinks
	}
	if prs.TopologySpreadConstraints != nil {
		spec.TopologySpreadConstraints = prs.TopologySpreadConstraints
	}
}

package jobbuild

import (
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// HookJobInput is what the Job of one attempt of a Function hook is built
// from.
type HookJobInput struct {
	Meta
	RestoreSession *corev1alpha1.RestoreSession
	// Hook is the RestoreSession's hook, Executor its HookTemplate's
	// Function executor and Function the Function that names.
	Hook     corev1alpha1.HookInfo
	Executor *corev1alpha1.FunctionHookExecutorSpec
	Function *addonsv1alpha1.Function
	// Variables are substituted into the Function's command and args.
	Variables map[string]string
	// Timeout, when positive, bounds the attempt's pod.
	Timeout        time.Duration
	ServiceAccount string
	PodSecurity    PodSecurity
	Now            time.Time
}

// HookJob returns the Job of one attempt of a Function hook: the
// Function's image and command with the hook's variables substituted, the
// executor's and the hook's environment and volumes, and the hook's
// runtime settings. The Job does not retry by itself (backoffLimit 0): the
// controller counts the hook's attempts, one Job each. A Job the
// namespace's Pod Security would not let start is an error.
func HookJob(in HookJobInput) (*batchv1.Job, error) {
	rs := in.RestoreSession
	fnExec := in.Executor
	job := jobInput{
		Meta:           in.Meta,
		RestoreSession: rs,
		Containers: []containerInput{{
			Name:      "hook",
			Function:  in.Function,
			Variables: in.Variables,
			Env: []corev1.EnvVar{
				{Name: invocation.EnvNamespace, Value: rs.Namespace},
				{Name: invocation.EnvRestoreSession, Value: rs.Name},
			},
			ExtraEnv:    append(append([]corev1.EnvVar(nil), fnExec.Env...), in.Hook.Variables...),
			ExtraMounts: append(append([]corev1.VolumeMount(nil), fnExec.VolumeMounts...), in.Hook.VolumeMounts...),
		}},
		Volumes:        append(append([]corev1.Volume(nil), fnExec.Volumes...), in.Hook.Volumes...),
		ServiceAccount: in.ServiceAccount,
		PodDeadline:    in.Timeout,
		PodSecurity:    in.PodSecurity,
		Now:            in.Now,
	}
	if rt := in.Hook.RuntimeSettings; rt != nil {
		job.ContainerSettings, job.PodSettings = rt.Container, rt.Pod
	}
	built, err := build(job)
	var violation *podSecurityViolation
	if errors.As(err, &violation) {
		return nil, fmt.Errorf("hook Job %s: %w", in.Name, err)
	}
	return built, err
}

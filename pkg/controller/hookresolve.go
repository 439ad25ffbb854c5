package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/pkg/refs"
)

// hookStage is when a hook runs: before the restore Jobs or after them.
type hookStage string

const (
	preRestore  hookStage = "pre"
	postRestore hookStage = "post"
)

// resolvedHook is a hook of the RestoreSession with the HookTemplate (and,
// for the Function executor, the Function) it runs, its params merged over
// the template's defaults, and its per-attempt timeout (0: none).
type resolvedHook struct {
	info     corev1alpha1.HookInfo
	template *corev1alpha1.HookTemplate
	function *addonsv1alpha1.Function
	params   map[string]string
	timeout  time.Duration
}

func (s hookStage) hooks(rs *corev1alpha1.RestoreSession) []corev1alpha1.HookInfo {
	if rs.Spec.Hooks == nil {
		return nil
	}
	if s == preRestore {
		return rs.Spec.Hooks.PreRestore
	}
	return rs.Spec.Hooks.PostRestore
}

func (s hookStage) path() *field.Path {
	if s == preRestore {
		return field.NewPath("spec", "hooks", "preRestore")
	}
	return field.NewPath("spec", "hooks", "postRestore")
}

// checkHooks resolves every hook of both stages for validation. It returns
// the user's errors (each naming the hook's field), the dependencies to
// record, and API failures a retry can fix. A hook resolves its template
// again when it runs, so a HookTemplate deleted since fails its hook then.
func (c *Controller) checkHooks(ctx context.Context, rs *corev1alpha1.RestoreSession) (field.ErrorList, []corev1alpha1.ResourceFoundStatus, error) {
	var errs field.ErrorList
	var deps []corev1alpha1.ResourceFoundStatus
	seen := map[string]bool{}
	for _, stage := range []hookStage{preRestore, postRestore} {
		for i, info := range stage.hooks(rs) {
			_, hookErrs, found, err := c.resolveHook(ctx, rs, stage, info, stage.path().Index(i))
			if err != nil {
				return nil, nil, err
			}
			ref := refs.HookTemplate(rs, info)
			if key := ref.String(); !seen[key] {
				seen[key] = true
				deps = append(deps, corev1alpha1.ResourceFoundStatus{
					APIGroup: corev1alpha1.SchemeGroupVersion.Group, Kind: "HookTemplate",
					Namespace: ref.Namespace, Name: ref.Name, Found: found,
				})
			}
			errs = append(errs, hookErrs...)
		}
	}
	return errs, deps, nil
}

// resolveHook checks one hook against its HookTemplate: that the template
// exists and its usagePolicy admits the RestoreSession's namespace, that
// the params are declared, and that the executor and the action fit
// together. found reports whether the template exists.
func (c *Controller) resolveHook(ctx context.Context, rs *corev1alpha1.RestoreSession, stage hookStage, info corev1alpha1.HookInfo, path *field.Path) (*resolvedHook, field.ErrorList, bool, error) {
	var errs field.ErrorList
	tmplPath := path.Child("hookTemplate")
	tmpl, refusal, err := c.resolver().HookTemplate(ctx, rs, info)
	if apierrors.IsNotFound(err) {
		return nil, field.ErrorList{field.Invalid(tmplPath, info.HookTemplate.Name, fmt.Sprintf("HookTemplate %s not found", refs.HookTemplate(rs, info)))}, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	if refusal != "" {
		errs = append(errs, field.Forbidden(tmplPath, refusal))
	}
	params, paramErrs := resolveParams(info.Params, tmpl.Spec.Params, fmt.Sprintf("HookTemplate %s/%s", tmpl.Namespace, tmpl.Name), "the HookTemplate", path.Child("params"))
	errs = append(errs, paramErrs...)

	if stage == preRestore && info.ExecutionPolicy == corev1alpha1.ExecuteOnFailure {
		errs = append(errs, field.Invalid(path.Child("executionPolicy"), info.ExecutionPolicy,
			"a preRestore hook runs before there is an outcome to fail: use Always or OnSuccess, or move the hook to postRestore"))
	}
	timeout, err := hookTimeout(info.Timeout)
	if err != nil {
		errs = append(errs, field.Invalid(path.Child("timeout"), info.Timeout.String(), err.Error()))
	}

	h := &resolvedHook{info: info, template: tmpl, params: params, timeout: timeout}
	execErrs, err := c.checkHookExecutor(ctx, rs, h, path)
	if err != nil {
		return nil, nil, true, err
	}
	errs = append(errs, execErrs...)
	if len(errs) > 0 {
		return nil, errs, true, nil
	}
	return h, nil, true, nil
}

// checkHookExecutor checks that the template's executor can perform its
// action here, and resolves a Function executor's Function.
func (c *Controller) checkHookExecutor(ctx context.Context, rs *corev1alpha1.RestoreSession, h *resolvedHook, path *field.Path) (field.ErrorList, error) {
	tmplPath := path.Child("hookTemplate")
	spec := h.template.Spec
	name := fmt.Sprintf("HookTemplate %s/%s", h.template.Namespace, h.template.Name)
	if spec.Executor == nil {
		return field.ErrorList{field.Invalid(tmplPath, h.template.Name, name+" has no spec.executor")}, nil
	}
	action := spec.Action
	switch spec.Executor.Type {
	case corev1alpha1.HookExecutorFunction:
		if spec.Executor.Function == nil || spec.Executor.Function.Name == "" {
			return field.ErrorList{field.Invalid(tmplPath, h.template.Name, name+": a Function executor needs spec.executor.function.name")}, nil
		}
		fn, err := c.functions.Get(spec.Executor.Function.Name)
		if apierrors.IsNotFound(err) {
			return field.ErrorList{field.Invalid(tmplPath, h.template.Name, fmt.Sprintf("Function %q of %s not found", spec.Executor.Function.Name, name))}, nil
		}
		if err != nil {
			return nil, err
		}
		h.function = fn
	case corev1alpha1.HookExecutorPod:
		if action == nil || (action.Exec == nil && action.HTTPGet == nil && action.HTTPPost == nil && action.TCPSocket == nil) {
			return field.ErrorList{field.Invalid(tmplPath, h.template.Name, name+": a Pod executor needs spec.action.exec, httpGet, httpPost or tcpSocket")}, nil
		}
		if err := checkPodHookTarget(rs, spec.Executor.Pod); err != nil {
			return field.ErrorList{field.Invalid(tmplPath, h.template.Name, name+": "+err.Error())}, nil
		}
	case corev1alpha1.HookExecutorOperator:
		if action == nil || (action.HTTPGet == nil && action.HTTPPost == nil && action.TCPSocket == nil) {
			return field.ErrorList{field.Invalid(tmplPath, h.template.Name, name+": the Operator executor performs httpGet, httpPost or tcpSocket actions; spec.action has none")}, nil
		}
		allowed, err := c.operatorHooksAllowed(ctx, rs.Namespace)
		if err != nil {
			return nil, err
		}
		if !allowed {
			return field.ErrorList{field.Forbidden(tmplPath, fmt.Sprintf("%s uses the Operator executor, which namespace %q may not use (restore-controller --operator-hook-namespace-selector %q)",
				name, rs.Namespace, c.opts.OperatorHookNamespaceSelector.String()))}, nil
		}
	default:
		return field.ErrorList{field.Invalid(tmplPath, h.template.Name, fmt.Sprintf("%s: unknown spec.executor.type %q", name, spec.Executor.Type))}, nil
	}
	if (spec.Executor.Type != corev1alpha1.HookExecutorFunction) &&
		(len(h.info.Volumes) > 0 || len(h.info.VolumeMounts) > 0 || h.info.RuntimeSettings != nil) {
		return field.ErrorList{field.Invalid(path.Child("volumes"), len(h.info.Volumes),
			fmt.Sprintf("volumes, volumeMounts and runtimeSettings apply to Function hooks only; %s uses the %s executor", name, spec.Executor.Type))}, nil
	}
	return nil, nil
}

// operatorHooksAllowed reports whether RestoreSessions in namespace may use
// Operator-executor hooks, which run from the controller's own pod: always
// without Options.OperatorHookNamespaceSelector, otherwise when the
// namespace's labels match it.
func (c *Controller) operatorHooksAllowed(ctx context.Context, namespace string) (bool, error) {
	selector := c.opts.OperatorHookNamespaceSelector
	if selector == nil || selector.Empty() {
		return true, nil
	}
	ns, err := c.kubeClient.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading namespace %s for the Operator hook namespace selector: %w", namespace, err)
	}
	return selector.Matches(labels.Set(ns.Labels)), nil
}

// checkPodHookTarget checks that the target's pods can be found: the
// workload's own selector, or the executor's selector.
func checkPodHookTarget(rs *corev1alpha1.RestoreSession, pod *corev1alpha1.PodHookExecutorSpec) error {
	if pod != nil {
		if err := hookaction.CheckOwner(pod.Owner); err != nil {
			return err
		}
	}
	if pod != nil && pod.Selector != "" {
		if _, err := labels.Parse(pod.Selector); err != nil {
			return fmt.Errorf("spec.executor.pod.selector %q is not a label selector: %v", pod.Selector, err)
		}
		return nil
	}
	t := rs.Spec.Target
	if t == nil || t.Kind == refs.KindPersistentVolumeClaim {
		return fmt.Errorf("a Pod executor without spec.executor.pod.selector runs in the target's pods, and a %s target has none", targetKindOrNone(rs))
	}
	return nil
}

func targetKindOrNone(rs *corev1alpha1.RestoreSession) string {
	if rs.Spec.Target == nil {
		return "missing"
	}
	return rs.Spec.Target.Kind
}

// hookTimeout parses a hook's timeout: a number of seconds, or a duration
// string ("30s", "2m"). Nil means no timeout of its own.
func hookTimeout(t *intstr.IntOrString) (time.Duration, error) {
	if t == nil {
		return 0, nil
	}
	if t.Type == intstr.Int {
		if t.IntVal <= 0 {
			return 0, fmt.Errorf("must be a positive number of seconds")
		}
		return time.Duration(t.IntVal) * time.Second, nil
	}
	if n, err := strconv.Atoi(t.StrVal); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("must be a positive number of seconds")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t.StrVal)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be a positive number of seconds or a duration such as 30s")
	}
	return d, nil
}

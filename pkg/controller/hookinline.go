package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/pkg/refs"
)

// PodHookRunner performs one attempt of a Pod-executor hook's action in the
// pods its strategy chooses among those given; the connections of a network
// action must pass policy. hookaction.PodRunner implements it with the
// pods/exec subresource.
type PodHookRunner interface {
	Run(ctx context.Context, action *corev1alpha1.HookAction, pods []corev1.Pod, strategy corev1alpha1.PodHookExecutionStrategy, policy hookaction.AddressPolicy) ([]hookaction.PodResult, error)
}

// inlineHookAttempt performs one attempt of an Operator or Pod hook within
// the sync, bounded by the hook's timeout (or the controller's default, so
// that a hook that never answers cannot hold a worker forever).
func (c *Controller) inlineHookAttempt(ctx context.Context, s *restoreState, h *resolvedHook) (hookResult, error) {
	action, err := substituteAction(h.template.Spec.Action, hookVariables(s, h))
	if err != nil {
		return hookResult{failure: err.Error()}, nil
	}
	// The attempt is recorded by this sync's status write: it must not
	// fail on a stale copy, or the next sync would repeat the attempt.
	if err := c.checkFresh(ctx, s); err != nil {
		return hookResult{}, err
	}
	timeout := h.timeout
	if timeout == 0 {
		timeout = c.opts.DefaultHookTimeout
	}
	attemptCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	exec := h.template.Spec.Executor
	if exec.Type == corev1alpha1.HookExecutorOperator {
		err = hookaction.Perform(attemptCtx, action, hookaction.Endpoint{}, c.opts.HookAddressPolicy)
	} else {
		err = c.runInPods(attemptCtx, s, exec.Pod, action)
	}
	if err == nil {
		return hookResult{}, nil
	}
	if ctx.Err() != nil {
		// The controller is shutting down: this was no attempt.
		return hookResult{}, ctx.Err()
	}
	var apiErr *hookAPIError
	if errors.As(err, &apiErr) {
		return hookResult{}, apiErr.err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return hookResult{failure: fmt.Sprintf("no result within the timeout of %s: %v", timeout, err)}, nil
	}
	return hookResult{failure: err.Error()}, nil
}

// hookAPIError is a failure to read the pods a hook runs in: an API
// problem a retry of the sync fixes, which must not count as an attempt.
type hookAPIError struct{ err error }

func (e *hookAPIError) Error() string { return e.err.Error() }

// runInPods runs the action in the pods the Pod executor selects: the pods
// matching its selector, or the target workload's pods.
func (c *Controller) runInPods(ctx context.Context, s *restoreState, spec *corev1alpha1.PodHookExecutorSpec, action *corev1alpha1.HookAction) error {
	if c.opts.PodHookRunner == nil {
		return errors.New("the controller runs without pod exec support (no PodHookRunner configured)")
	}
	selector, err := c.hookPodSelector(ctx, s, spec)
	if err != nil {
		return err
	}
	ns := refs.TargetNamespace(s.rs)
	list, err := c.kubeClient.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return &hookAPIError{fmt.Errorf("listing the pods of the hook (%s): %w", selector, err)}
	}
	strategy := corev1alpha1.ExecuteOnOne
	if spec != nil && spec.Strategy != "" {
		strategy = spec.Strategy
	}
	results, err := c.opts.PodHookRunner.Run(ctx, action, list.Items, strategy, c.opts.HookAddressPolicy)
	logger := klog.FromContext(ctx)
	for _, r := range results {
		logger.V(2).Info("Hook ran in pod", "pod", klog.KRef(ns, r.Pod), "error", r.Err)
	}
	if err != nil && len(results) == 0 {
		return fmt.Errorf("pods matching %q in namespace %s: %w", selector, ns, err)
	}
	return err
}

// hookPodSelector is the Pod executor's selector, or the target workload's
// pod selector.
func (c *Controller) hookPodSelector(ctx context.Context, s *restoreState, spec *corev1alpha1.PodHookExecutorSpec) (labels.Selector, error) {
	if spec != nil && spec.Selector != "" {
		return labels.Parse(spec.Selector)
	}
	t := s.rs.Spec.Target
	if t == nil {
		return nil, errors.New("a Pod executor without selector needs a target")
	}
	ns := refs.TargetNamespace(s.rs)
	apps := c.kubeClient.AppsV1()
	var sel *metav1.LabelSelector
	var err error
	switch t.Kind {
	case "StatefulSet":
		obj, getErr := apps.StatefulSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if getErr == nil {
			sel = obj.Spec.Selector
		}
		err = getErr
	case "Deployment":
		obj, getErr := apps.Deployments(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if getErr == nil {
			sel = obj.Spec.Selector
		}
		err = getErr
	case "DaemonSet":
		obj, getErr := apps.DaemonSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if getErr == nil {
			sel = obj.Spec.Selector
		}
		err = getErr
	default:
		return nil, fmt.Errorf("a %s target has no pods of its own: set spec.executor.pod.selector", t.Kind)
	}
	if err != nil {
		return nil, &hookAPIError{fmt.Errorf("reading %s %s/%s for its pods: %w", t.Kind, ns, t.Name, err)}
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("the pod selector of %s %s/%s: %w", t.Kind, ns, t.Name, err)
	}
	return selector, nil
}

// substituteAction returns a copy of the action with the hook's variables
// substituted into every string a user writes: the command, hosts, paths,
// header values, the body and form values.
func substituteAction(in *corev1alpha1.HookAction, vars map[string]string) (*corev1alpha1.HookAction, error) {
	a := in.DeepCopy()
	var errs []error
	sub := func(p *string, what string) {
		v, err := substitute(*p, vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			return
		}
		*p = v
	}
	headers := func(hs []corev1.HTTPHeader, what string) {
		for i := range hs {
			sub(&hs[i].Value, fmt.Sprintf("%s[%d].value", what, i))
		}
	}
	if e := a.Exec; e != nil {
		for i := range e.Command {
			sub(&e.Command[i], fmt.Sprintf("action.exec.command[%d]", i))
		}
	}
	if g := a.HTTPGet; g != nil {
		sub(&g.Host, "action.httpGet.host")
		sub(&g.Path, "action.httpGet.path")
		headers(g.HTTPHeaders, "action.httpGet.httpHeaders")
		if g.Port.StrVal != "" {
			sub(&g.Port.StrVal, "action.httpGet.port")
		}
	}
	if p := a.HTTPPost; p != nil {
		sub(&p.Host, "action.httpPost.host")
		sub(&p.Path, "action.httpPost.path")
		sub(&p.Body, "action.httpPost.body")
		headers(p.HTTPHeaders, "action.httpPost.httpHeaders")
		for i := range p.Form {
			for j := range p.Form[i].Values {
				sub(&p.Form[i].Values[j], fmt.Sprintf("action.httpPost.form[%d].values[%d]", i, j))
			}
		}
		if p.Port.StrVal != "" {
			sub(&p.Port.StrVal, "action.httpPost.port")
		}
	}
	if t := a.TCPSocket; t != nil {
		sub(&t.Host, "action.tcpSocket.host")
		if t.Port.StrVal != "" {
			sub(&t.Port.StrVal, "action.tcpSocket.port")
		}
	}
	return a, errors.Join(errs...)
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// PodHookRunner performs one attempt of a Pod-executor hook's action in the
// pods its strategy chooses among those given; the connections of a network
// action must pass policy. hookaction.PodRunner implements it with the
// pods/exec subresource.
type PodHookRunner interface {
	Run(ctx context.Context, action *corev1alpha1.HookAction, pods []corev1.Pod, strategy corev1alpha1.PodHookExecutionStrategy, policy hookaction.AddressPolicy) ([]hookaction.PodResult, error)
}

// inlineHookCall is one attempt of an Operator or Pod hook with everything
// it needs copied out of the sync that starts it: the attempt runs in a
// goroutine (hookasync.go) after that sync ended, and shares nothing with
// later syncs.
type inlineHookCall struct {
	action   *corev1alpha1.HookAction
	executor corev1alpha1.HookExecutor
	// namespace is the target's, where a Pod hook's pods are.
	namespace string
	target    *common.TypedObjectReference
	// workloadSelector is the target workload's pod selector, read by
	// the sync (readTarget) for a Pod hook without a selector of its own.
	workloadSelector *metav1.LabelSelector
	// timeout bounds the attempt: the hook's, else the controller's
	// default, so that every attempt ends.
	timeout time.Duration
}

// newInlineHookCall copies out what the attempt needs. A Pod hook without
// a selector of its own runs in the target workload's pods: the workload
// is read here, in the sync (once per sync, see readTarget), and a failure
// to read it is an API error, returned so the sync is retried and the
// attempt made later, uncounted.
func (c *Controller) newInlineHookCall(ctx context.Context, s *restoreState, h *resolvedHook, action *corev1alpha1.HookAction) (inlineHookCall, error) {
	timeout := h.timeout
	if timeout == 0 {
		timeout = c.opts.DefaultHookTimeout
	}
	call := inlineHookCall{
		action:    action,
		executor:  *h.template.Spec.Executor.DeepCopy(),
		namespace: refs.TargetNamespace(s.rs),
		target:    s.rs.Spec.Target.DeepCopy(),
		timeout:   timeout,
	}
	if call.executor.Type == corev1alpha1.HookExecutorPod && needsWorkloadSelector(call) {
		w, err := c.readTarget(ctx, s)
		if err != nil {
			t := call.target
			return inlineHookCall{}, fmt.Errorf("reading %s %s/%s for its pods: %w", t.Kind, call.namespace, t.Name, err)
		}
		call.workloadSelector = w.selector.DeepCopy()
	}
	return call, nil
}

// needsWorkloadSelector reports whether a Pod hook runs in the pods of the
// target workload, chosen by the workload's selector.
func needsWorkloadSelector(call inlineHookCall) bool {
	if spec := call.executor.Pod; spec != nil && spec.Selector != "" {
		return false
	}
	if call.target == nil {
		return false
	}
	switch call.target.Kind {
	case refs.KindStatefulSet, refs.KindDeployment, refs.KindDaemonSet:
		return true
	default:
		return false
	}
}

// performInlineHook makes one attempt of an Operator or Pod hook, bounded
// by its timeout. When ctx is cancelled (the controller stops) the outcome
// is meaningless; the caller discards it.
func (c *Controller) performInlineHook(ctx context.Context, call inlineHookCall) hookOutcome {
	attemptCtx, cancel := context.WithTimeout(ctx, call.timeout)
	defer cancel()

	var err error
	if call.executor.Type == corev1alpha1.HookExecutorOperator {
		err = hookaction.Perform(attemptCtx, call.action, hookaction.Endpoint{}, c.opts.HookAddressPolicy)
	} else {
		err = c.runInPods(attemptCtx, call)
	}
	if err == nil {
		return hookOutcome{}
	}
	var apiErr *hookAPIError
	if errors.As(err, &apiErr) {
		return hookOutcome{apiErr: apiErr.err}
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return hookOutcome{result: hookResult{failure: fmt.Sprintf("no result within the timeout of %s: %v", call.timeout, err)}}
	}
	return hookOutcome{result: hookResult{failure: err.Error()}}
}

// hookAPIError is a failure to read the pods a hook runs in: an API
// problem, not a failed attempt. The sync that reads it returns it (and is
// retried with rate limiting), and the attempt is made again, uncounted.
type hookAPIError struct{ err error }

func (e *hookAPIError) Error() string { return e.err.Error() }

// runInPods runs the action in the pods the Pod executor selects: the pods
// matching its selector, or the target workload's pods, kept only when
// executor.pod.owner (if set) owns them.
func (c *Controller) runInPods(ctx context.Context, call inlineHookCall) error {
	if c.opts.PodHookRunner == nil {
		return errors.New("the controller runs without pod exec support (no PodHookRunner configured)")
	}
	spec, ns := call.executor.Pod, call.namespace
	selector, err := hookPodSelector(call)
	if err != nil {
		return err
	}
	list, err := c.kubeClient.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return &hookAPIError{fmt.Errorf("listing the pods of the hook (%s): %w", selector, err)}
	}
	pods := list.Items
	if spec != nil && spec.Owner != nil {
		replicaSetOwners := func(name string) ([]metav1.OwnerReference, error) {
			rs, err := c.kubeClient.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, nil // gone: it owns nothing any more
			}
			if err != nil {
				return nil, &hookAPIError{err}
			}
			return rs.OwnerReferences, nil
		}
		pods, err = hookaction.FilterOwned(pods, spec.Owner, replicaSetOwners)
		var apiErr *hookAPIError
		if errors.As(err, &apiErr) {
			return apiErr
		}
		if err != nil {
			return fmt.Errorf("pods matching %q in namespace %s: %w", selector, ns, err)
		}
	}
	strategy := corev1alpha1.ExecuteOnOne
	if spec != nil && spec.Strategy != "" {
		strategy = spec.Strategy
	}
	results, err := c.opts.PodHookRunner.Run(ctx, call.action, pods, strategy, c.opts.HookAddressPolicy)
	logger := klog.FromContext(ctx)
	for _, r := range results {
		logger.V(2).Info("Hook ran in pod", "pod", klog.KRef(ns, r.Pod), "error", r.Err)
	}
	if err != nil && len(results) == 0 {
		return fmt.Errorf("pods matching %q in namespace %s: %w", selector, ns, err)
	}
	return err
}

// hookPodSelector is the Pod executor's selector, or the target
// workload's pod selector.
func hookPodSelector(call inlineHookCall) (labels.Selector, error) {
	if spec := call.executor.Pod; spec != nil && spec.Selector != "" {
		return labels.Parse(spec.Selector)
	}
	t, ns := call.target, call.namespace
	if t == nil {
		return nil, errors.New("a Pod executor without selector needs a target")
	}
	if !needsWorkloadSelector(call) {
		return nil, fmt.Errorf("a %s target has no pods of its own: set spec.executor.pod.selector", t.Kind)
	}
	selector, err := metav1.LabelSelectorAsSelector(call.workloadSelector)
	if err != nil {
		return nil, fmt.Errorf("the pod selector of %s %s/%s: %w", t.Kind, ns, t.Name, err)
	}
	return selector, nil
}

// substituteAction returns a copy of the action with the hook's variables
// (${NAME}) substituted into every string a user writes: the command,
// hosts, paths, header values, the body and form values.
func substituteAction(in *corev1alpha1.HookAction, vars map[string]string) (*corev1alpha1.HookAction, error) {
	return mapActionStrings(in, func(v string) (string, error) { return invocation.Substitute(v, vars) })
}

// renderAction returns a copy of the action with each string a user writes
// rendered as a Go template over data, as KubeStash renders its hook
// templates (hookaction.Render).
func renderAction(in *corev1alpha1.HookAction, data hookaction.Summary) (*corev1alpha1.HookAction, error) {
	return mapActionStrings(in, func(v string) (string, error) { return hookaction.Render(v, data) })
}

// prepareAction is the action an attempt performs: the HookTemplate's
// action with its Go templates rendered, then the hook's variables
// substituted. Rendering first keeps a variable's value (a param the
// RestoreSession sets) from being read as a template.
func prepareAction(in *corev1alpha1.HookAction, data hookaction.Summary, vars map[string]string) (*corev1alpha1.HookAction, error) {
	rendered, err := renderAction(in, data)
	if err != nil {
		return nil, err
	}
	return substituteAction(rendered, vars)
}

// hookSummary is the data hook templates are rendered with: KubeStash's
// summary of the restore (hookaction.Summary). The restore has failed
// when a condition is False (KubeStash's rule), when RestoreIncomplete or
// DeadlineExceeded is True, or when a component failed; the first such
// message, in condition order then component name order, is the error.
func hookSummary(rs *corev1alpha1.RestoreSession) hookaction.Summary {
	sum := hookaction.Summary{
		Name:      rs.Name,
		Namespace: rs.Namespace,
		Invoker: &common.TypedObjectReference{
			APIGroup: corev1alpha1.SchemeGroupVersion.Group, Kind: kindRestoreSession, Namespace: rs.Namespace, Name: rs.Name,
		},
		Status: hookaction.TargetStatus{Phase: string(corev1alpha1.RestoreSucceeded), Duration: rs.Status.Duration},
	}
	if t := rs.Spec.Target; t != nil {
		target := *t
		target.Namespace = refs.TargetNamespace(rs)
		sum.Target = &target
	}
	failure, failed := "", false
	for _, c := range rs.Status.Conditions {
		trueIsFailure := c.Type == corev1alpha1.TypeRestoreIncomplete || c.Type == corev1alpha1.TypeDeadlineExceeded
		if (c.Status == metav1.ConditionFalse && !trueIsFailure) || (c.Status == metav1.ConditionTrue && trueIsFailure) {
			failure, failed = c.Message, true
			break
		}
	}
	if !failed {
		for _, name := range slices.Sorted(maps.Keys(rs.Status.Components)) {
			if c := rs.Status.Components[name]; c.Phase == corev1alpha1.RestoreFailed {
				failure, failed = fmt.Sprintf("component %s: %s", name, c.Error), true
				break
			}
		}
	}
	if failed {
		sum.Status.Phase, sum.Status.Error = string(corev1alpha1.RestoreFailed), failure
	}
	return sum
}

// mapActionStrings returns a copy of the action with fn applied to every
// string a user writes: the command, hosts, paths, header values, the body
// and form values. Errors name the field.
func mapActionStrings(in *corev1alpha1.HookAction, fn func(string) (string, error)) (*corev1alpha1.HookAction, error) {
	a := in.DeepCopy()
	var errs []error
	sub := func(p *string, what string) {
		v, err := fn(*p)
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

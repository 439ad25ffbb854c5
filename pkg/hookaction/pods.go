package hookaction

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// describeLimit bounds how many pods an error lists by name.
const describeLimit = 5

// SelectPods chooses, from the pods a Pod-executor hook selected, those its
// action runs in (see the package documentation). The result is a new
// slice in name order whose elements are shallow copies: pods from an
// informer cache may be passed as long as nobody mutates the result.
func SelectPods(pods []corev1.Pod, strategy v1alpha1.PodHookExecutionStrategy) ([]corev1.Pod, error) {
	if strategy != "" && strategy != v1alpha1.ExecuteOnOne && strategy != v1alpha1.ExecuteOnAll {
		return nil, fmt.Errorf("executor.pod.strategy %q is neither %s nor %s", strategy, v1alpha1.ExecuteOnOne, v1alpha1.ExecuteOnAll)
	}
	if len(pods) == 0 {
		return nil, errors.New("no pod is selected to run the hook in")
	}
	sorted := slices.Clone(pods)
	slices.SortFunc(sorted, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })

	var ready, notReady []corev1.Pod
	for _, p := range sorted {
		if podUnready(&p) == "" {
			ready = append(ready, p)
		} else {
			notReady = append(notReady, p)
		}
	}
	if strategy == v1alpha1.ExecuteOnAll {
		if len(notReady) > 0 {
			return nil, fmt.Errorf("strategy %s needs every selected pod Running and Ready; %d of %d are not: %s",
				v1alpha1.ExecuteOnAll, len(notReady), len(sorted), describePods(notReady))
		}
		return ready, nil
	}
	if len(ready) == 0 {
		return nil, fmt.Errorf("none of the %d selected pods is Running and Ready: %s", len(sorted), describePods(notReady))
	}
	return ready[:1], nil
}

// podUnready says why pod cannot run a hook, or "" when it is Running,
// Ready and not terminating.
func podUnready(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "terminating"
	}
	if pod.Status.Phase != corev1.PodRunning {
		if pod.Status.Phase == "" {
			return "no phase yet"
		}
		return string(pod.Status.Phase)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == corev1.ConditionTrue {
				return ""
			}
			break
		}
	}
	return "Running, not Ready"
}

func describePods(pods []corev1.Pod) string {
	var parts []string
	for i, p := range pods {
		if i == describeLimit {
			parts = append(parts, fmt.Sprintf("and %d more", len(pods)-describeLimit))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", p.Name, podUnready(&p)))
	}
	return strings.Join(parts, ", ")
}

// PodResult is the outcome of a Pod-executor action in one pod.
type PodResult struct {
	// Pod is the pod's name.
	Pod string
	// Output is what an exec action printed; empty for network actions.
	Output ExecOutput
	// Err is nil when the action succeeded in this pod.
	Err error
}

// PodsError is PodRunner.Run's error when the action failed in some pods.
// It unwraps to each pod's error, so errors.Is(err,
// context.DeadlineExceeded) tells whether any pod ran out of time.
type PodsError struct {
	// Failed are the results of the pods that failed, in name order.
	Failed []PodResult
	// Total is how many pods the action ran in.
	Total int
}

func (e *PodsError) Error() string {
	parts := make([]string, 0, min(len(e.Failed), describeLimit)+1)
	for i, r := range e.Failed {
		if i == describeLimit {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Failed)-describeLimit))
			break
		}
		parts = append(parts, fmt.Sprintf("pod %s: %v", r.Pod, r.Err))
	}
	if e.Total == 1 {
		return parts[0]
	}
	return fmt.Sprintf("failed in %d of %d pods: %s", len(e.Failed), e.Total, strings.Join(parts, "; "))
}

func (e *PodsError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, r := range e.Failed {
		errs[i] = r.Err
	}
	return errs
}

// Run performs one attempt of a Pod-executor action: it chooses pods with
// SelectPods, then runs the action in each, in name order, even after one
// fails. A network action runs from this process, and each of its
// connections must pass policy. It returns every chosen pod's result, and a
// *PodsError when any failed (or SelectPods' error, with no results).
func (r *PodRunner) Run(ctx context.Context, action *v1alpha1.HookAction, pods []corev1.Pod, strategy v1alpha1.PodHookExecutionStrategy, policy AddressPolicy) ([]PodResult, error) {
	if err := checkOneAction(action); err != nil {
		return nil, err
	}
	chosen, err := SelectPods(pods, strategy)
	if err != nil {
		return nil, err
	}
	results := make([]PodResult, 0, len(chosen))
	var failed []PodResult
	for i := range chosen {
		pod := &chosen[i]
		res := PodResult{Pod: pod.Name}
		switch {
		case action.Exec != nil:
			res.Output, res.Err = r.Exec(ctx, pod, action.ContainerName, action.Exec.Command)
		case action.HTTPGet != nil && action.HTTPGet.Host == "",
			action.HTTPPost != nil && action.HTTPPost.Host == "",
			action.TCPSocket != nil && action.TCPSocket.Host == "":
			if pod.Status.PodIP == "" {
				res.Err = errors.New("the pod has no IP yet, and the action names no host")
				break
			}
			fallthrough
		default:
			res.Err = Perform(ctx, action, PodEndpoint(pod, action.ContainerName), policy)
		}
		results = append(results, res)
		if res.Err != nil {
			failed = append(failed, res)
		}
	}
	if len(failed) > 0 {
		return results, &PodsError{Failed: failed, Total: len(chosen)}
	}
	return results, nil
}

package hookaction

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// readyPod is a Running and Ready pod in namespace ns1.
func readyPod(name, ip string, containers ...string) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: name},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func pendingPod(name string) corev1.Pod {
	p := readyPod(name, "", "app")
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return p
}

func unreadyPod(name string) corev1.Pod {
	p := readyPod(name, "10.0.0.9", "app")
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	return p
}

func terminatingPod(name string) corev1.Pod {
	p := readyPod(name, "10.0.0.8", "app")
	p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1_700_000_000, 0)}
	return p
}

func TestSelectPods(t *testing.T) {
	cases := []struct {
		name     string
		pods     []corev1.Pod
		strategy v1alpha1.PodHookExecutionStrategy
		want     []string
		wantErr  []string
	}{
		{name: "one: first ready pod by name, whatever the input order",
			pods:     []corev1.Pod{readyPod("web-2", "", "app"), pendingPod("web-0"), readyPod("web-1", "", "app")},
			strategy: v1alpha1.ExecuteOnOne, want: []string{"web-1"}},
		{name: "empty strategy means one",
			pods: []corev1.Pod{readyPod("b", "", "app"), readyPod("a", "", "app")}, want: []string{"a"}},
		{name: "one skips terminating and unready pods",
			pods:     []corev1.Pod{terminatingPod("a"), unreadyPod("b"), readyPod("c", "", "app")},
			strategy: v1alpha1.ExecuteOnOne, want: []string{"c"}},
		{name: "one with no ready pod names each and why",
			pods:     []corev1.Pod{unreadyPod("b"), pendingPod("a"), terminatingPod("c")},
			strategy: v1alpha1.ExecuteOnOne,
			wantErr:  []string{"none of the 3 selected pods is Running and Ready", "a (Pending), b (Running, not Ready), c (terminating)"}},
		{name: "all: every pod in name order",
			pods:     []corev1.Pod{readyPod("db-2", "", "app"), readyPod("db-0", "", "app"), readyPod("db-1", "", "app")},
			strategy: v1alpha1.ExecuteOnAll, want: []string{"db-0", "db-1", "db-2"}},
		{name: "all needs every pod ready",
			pods:     []corev1.Pod{readyPod("db-0", "", "app"), unreadyPod("db-1"), terminatingPod("db-2")},
			strategy: v1alpha1.ExecuteOnAll,
			wantErr:  []string{"ExecuteOnAll", "2 of 3 are not", "db-1 (Running, not Ready), db-2 (terminating)"}},
		{name: "long lists are cut",
			pods: []corev1.Pod{pendingPod("p1"), pendingPod("p2"), pendingPod("p3"), pendingPod("p4"),
				pendingPod("p5"), pendingPod("p6"), pendingPod("p7")},
			wantErr: []string{"p5 (Pending), and 2 more"}},
		{name: "no pods", strategy: v1alpha1.ExecuteOnAll, wantErr: []string{"no pod is selected"}},
		{name: "unknown strategy", pods: []corev1.Pod{readyPod("a", "", "app")}, strategy: "ExecuteOnSome",
			wantErr: []string{`executor.pod.strategy "ExecuteOnSome"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := podNames(tc.pods)
			got, err := SelectPods(tc.pods, tc.strategy)
			if !slices.Equal(podNames(tc.pods), before) {
				t.Errorf("SelectPods reordered its input: %v, was %v", podNames(tc.pods), before)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("SelectPods = %v, want an error", podNames(got))
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("SelectPods: %v", err)
			}
			if !slices.Equal(podNames(got), tc.want) {
				t.Errorf("SelectPods = %v, want %v", podNames(got), tc.want)
			}
		})
	}
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

func TestRunExec(t *testing.T) {
	cases := []struct {
		name     string
		strategy v1alpha1.PodHookExecutionStrategy
		pods     []corev1.Pod
		replies  map[string]execReply

		wantExecIn []string // pods, in request order
		wantErr    []string
		wantFailed []string
	}{
		{name: "one runs in the first ready pod only",
			strategy:   v1alpha1.ExecuteOnOne,
			pods:       []corev1.Pod{readyPod("db-1", "", "db"), pendingPod("db-0"), readyPod("db-2", "", "db")},
			replies:    map[string]execReply{"db-0": {}, "db-1": {}, "db-2": {}},
			wantExecIn: []string{"db-1"}},
		{name: "all runs everywhere and reports the pod that failed",
			strategy: v1alpha1.ExecuteOnAll,
			pods:     []corev1.Pod{readyPod("db-2", "", "db"), readyPod("db-0", "", "db"), readyPod("db-1", "", "db")},
			replies: map[string]execReply{
				"db-0": {}, "db-1": {stderr: "replica lagging", exitCode: 1}, "db-2": {},
			},
			wantExecIn: []string{"db-0", "db-1", "db-2"},
			wantErr:    []string{"failed in 1 of 3 pods", "pod db-1:", "exited with code 1", "replica lagging"},
			wantFailed: []string{"db-1"}},
		{name: "a single pod's failure reads as that pod's",
			strategy:   v1alpha1.ExecuteOnOne,
			pods:       []corev1.Pod{readyPod("db-0", "", "db")},
			replies:    map[string]execReply{"db-0": {exitCode: 2}},
			wantExecIn: []string{"db-0"},
			wantErr:    []string{"pod db-0: command \"flush\""},
			wantFailed: []string{"db-0"}},
		{name: "selection errors run nothing",
			strategy: v1alpha1.ExecuteOnAll,
			pods:     []corev1.Pod{readyPod("db-0", "", "db"), unreadyPod("db-1")},
			replies:  map[string]execReply{"db-0": {}, "db-1": {}},
			wantErr:  []string{"db-1 (Running, not Ready)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newExecAPI(t, false, tc.replies)
			runner, err := NewPodRunner(api.config())
			if err != nil {
				t.Fatal(err)
			}
			action := &v1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"flush"}}}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			results, err := runner.Run(ctx, action, tc.pods, tc.strategy, AddressPolicy{})

			var execIn []string
			for _, c := range api.recorded() {
				m := execPath.FindStringSubmatch(c.path)
				execIn = append(execIn, m[2])
			}
			if !slices.Equal(execIn, tc.wantExecIn) {
				t.Errorf("exec requests for pods %v, want %v", execIn, tc.wantExecIn)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("Run succeeded, want an error")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
			}
			if tc.wantFailed != nil {
				var pe *PodsError
				if !errors.As(err, &pe) {
					t.Fatalf("error %T is not a *PodsError", err)
				}
				var failed []string
				for _, r := range pe.Failed {
					failed = append(failed, r.Pod)
				}
				if !slices.Equal(failed, tc.wantFailed) || pe.Total != len(tc.wantExecIn) {
					t.Errorf("PodsError failed %v of %d, want %v of %d", failed, pe.Total, tc.wantFailed, len(tc.wantExecIn))
				}
			}
			var resultPods []string
			for _, r := range results {
				resultPods = append(resultPods, r.Pod)
			}
			if !slices.Equal(resultPods, tc.wantExecIn) {
				t.Errorf("results for %v, want %v", resultPods, tc.wantExecIn)
			}
		})
	}
}

// TestRunNetworkInPods runs an httpGet with no host and a named port from
// the Pod executor: each pod's IP and container port is what gets dialled.
func TestRunNetworkInPods(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Host+r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	host, portStr, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)

	withPort := func(p corev1.Pod) corev1.Pod {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "admin", ContainerPort: int32(port)}}
		return p
	}
	action := &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Path: "/flush", Port: intstr.FromString("admin")}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// A runner for network actions never talks to the API server.
	runner, err := NewPodRunner(newExecAPI(t, false, nil).config())
	if err != nil {
		t.Fatal(err)
	}
	pods := []corev1.Pod{withPort(readyPod("web-1", host, "app")), withPort(readyPod("web-0", host, "app"))}
	if _, err := runner.Run(ctx, action, pods, v1alpha1.ExecuteOnAll, allowLoopback); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{srv.Listener.Addr().String() + "/flush", srv.Listener.Addr().String() + "/flush"}
	mu.Lock()
	got := slices.Clone(hits)
	mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("server got %v, want %v", got, want)
	}

	// The caller's policy applies to the pod's IP too.
	_, err = runner.Run(ctx, action, pods, v1alpha1.ExecuteOnOne, AddressPolicy{})
	var addrErr *AddressError
	if !errors.As(err, &addrErr) || !strings.Contains(err.Error(), "pod web-0: GET http://"+srv.Listener.Addr().String()+"/flush: hook target") {
		t.Errorf("Run with the zero policy against a loopback pod IP = %v, want an *AddressError naming the pod", err)
	}
	mu.Lock()
	if len(hits) != len(want) {
		t.Errorf("server got %d requests, want %d: the refused one must not arrive", len(hits), len(want))
	}
	mu.Unlock()

	noIP := readyPod("web-0", "", "app")
	_, err = runner.Run(ctx, action, []corev1.Pod{noIP}, v1alpha1.ExecuteOnOne, allowLoopback)
	if err == nil || !strings.Contains(err.Error(), "pod web-0: the pod has no IP yet") {
		t.Errorf("Run in a pod without IP = %v, want an error naming the pod and its missing IP", err)
	}
}

package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	clientmetrics "k8s.io/client-go/tools/metrics"
	"k8s.io/client-go/util/workqueue"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	corelisters "github.com/restore-controller/restore/pkg/generated/listers/core/v1alpha1"
)

func TestWorkqueueMetricsProvider(t *testing.T) {
	reg := prometheus.NewRegistry()
	provider := WorkqueueMetricsProvider(reg)
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "Test", MetricsProvider: provider})
	defer q.ShutDown()
	q.Add("a")
	q.AddRateLimited("b")
	// A second provider call for the same name shares the registered
	// collectors instead of failing.
	_ = provider.NewDepthMetric("Test")

	gather := func() (names string, adds float64) {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, mf := range families {
			all = append(all, mf.GetName())
			if mf.GetName() == "workqueue_adds_total" {
				for _, m := range mf.GetMetric() {
					adds += m.GetCounter().GetValue()
				}
			}
		}
		return strings.Join(all, ","), adds
	}
	// The rate-limited add lands after its backoff: poll for it.
	var adds float64
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		_, adds = gather()
		return adds >= 2, nil
	})
	if err != nil {
		t.Fatalf("workqueue_adds_total = %v, want 2", adds)
	}
	names, _ := gather()
	for _, want := range []string{"workqueue_depth", "workqueue_adds_total", "workqueue_retries_total", "workqueue_queue_duration_seconds", "workqueue_work_duration_seconds"} {
		if !strings.Contains(names, want) {
			t.Errorf("metric %s not registered: %s", want, names)
		}
	}
}

func TestRESTClientMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	RegisterRESTClientMetrics(reg)
	// What client-go calls for every request it makes.
	clientmetrics.RequestResult.Increment(context.Background(), "201", "POST", "api:6443")
	clientmetrics.RequestResult.Increment(context.Background(), "201", "POST", "api:6443")
	clientmetrics.RequestResult.Increment(context.Background(), "200", "GET", "api:6443")
	want := `
# HELP rest_client_requests_total Number of HTTP requests to the API server, partitioned by status code, method, and host.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="api:6443",method="GET"} 1
rest_client_requests_total{code="201",host="api:6443",method="POST"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rest_client_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestDeadlineMetrics(t *testing.T) {
	deadline := metav1.NewTime(time.Unix(1_800_000_000, 0))
	rs := func(name string, phase corev1alpha1.RestorePhase, withDeadline bool) *corev1alpha1.RestoreSession {
		r := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		r.Status.Phase = phase
		if withDeadline {
			r.Spec.RestoreTimeout = &metav1.Duration{Duration: 30 * time.Minute}
			r.Status.RestoreDeadline = &deadline
		}
		return r
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, r := range []*corev1alpha1.RestoreSession{
		rs("running", corev1alpha1.RestoreRunning, true),
		rs("pending", corev1alpha1.RestorePending, true),
		rs("no-timeout", corev1alpha1.RestoreRunning, false),
		rs("done", corev1alpha1.RestoreSucceeded, true),
		rs("failed", corev1alpha1.RestoreFailed, true),
	} {
		if err := indexer.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	// A standby replica (no lister yet) reports no restores.
	if n, err := testutil.GatherAndCount(reg, MetricRestoreDeadline, MetricRestoreTimeout); err != nil || n != 0 {
		t.Fatalf("before the lister: %d series (%v), want 0", n, err)
	}
	m.watchRestoreSessions(corelisters.NewRestoreSessionLister(indexer))
	want := `
# HELP restore_controller_restore_deadline_timestamp_seconds When a restore in progress fails if it has not finished (status.restoreDeadline), as a Unix time.
# TYPE restore_controller_restore_deadline_timestamp_seconds gauge
restore_controller_restore_deadline_timestamp_seconds{namespace="ns",restoresession="pending"} 1.8e+09
restore_controller_restore_deadline_timestamp_seconds{namespace="ns",restoresession="running"} 1.8e+09
# HELP restore_controller_restore_timeout_seconds spec.restoreTimeout of a restore in progress that has a deadline, in seconds.
# TYPE restore_controller_restore_timeout_seconds gauge
restore_controller_restore_timeout_seconds{namespace="ns",restoresession="pending"} 1800
restore_controller_restore_timeout_seconds{namespace="ns",restoresession="running"} 1800
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), MetricRestoreDeadline, MetricRestoreTimeout); err != nil {
		t.Error(err)
	}
}

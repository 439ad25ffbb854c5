package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/util/wait"
	clientmetrics "k8s.io/client-go/tools/metrics"
	"k8s.io/client-go/util/workqueue"
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

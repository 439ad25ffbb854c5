// Package monitoring checks artifacts/monitoring: the PrometheusRule's
// groups parse with Prometheus' own rule parser, and every metric the
// rules and the Grafana dashboard query is one the code registers — read
// from the controller's registries and from what the final step pushes,
// never from a list kept by hand.
package monitoring

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/yaml"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/metricspush"
)

const monitoringDir = "../../../artifacts/monitoring"

// queueName is the controller's workqueue's name (pkg/controller).
const queueName = "RestoreSessions"

// recorder is a Registerer that also records the fully-qualified names of
// the metrics registered through it, from their descriptors (a vector with
// no series yet gathers nothing, but it is described), and which of them
// are histograms or summaries (whose series are NAME_bucket, _sum, _count).
type recorder struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
	// compound are the histograms' and summaries' names.
	compound map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 256)
	go func() { c.Describe(ch); close(ch) }()
	var names []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	isCompound := false
	switch c.(type) {
	case prometheus.Histogram, *prometheus.HistogramVec, prometheus.Summary, *prometheus.SummaryVec:
		isCompound = true
	}
	r.mu.Lock()
	for _, n := range names {
		r.names[n] = true
		if isCompound {
			r.compound[n] = true
		}
	}
	r.mu.Unlock()
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// metrics are registered metric names, and which are histograms or
// summaries.
type metrics struct{ names, compound map[string]bool }

// controllerMetrics are the metrics the controller serves on /metrics,
// wired as cmd/restore-controller wires them: Go and process collectors,
// the workqueue provider (with the controller's queue) and the restore
// metrics. The Go collector's histograms and summaries are typed from a
// gather (it describes them all in one collector).
func controllerMetrics(t *testing.T) metrics {
	r := &recorder{Registry: prometheus.NewRegistry(), names: map[string]bool{}, compound: map[string]bool{}}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	controller.NewMetrics(r)
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: queueName, MetricsProvider: controller.WorkqueueMetricsProvider(r)})
	q.ShutDown()
	families, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY, dto.MetricType_GAUGE_HISTOGRAM:
			r.compound[mf.GetName()] = true
		}
	}
	if len(r.names) < 10 {
		t.Fatalf("only %d controller metrics recorded: %v", len(r.names), r.names)
	}
	return metrics{names: r.names, compound: r.compound}
}

// pushedMetrics are the names the final step pushes for a finished
// restore, read from a push to a stand-in Pushgateway.
func pushedMetrics(t *testing.T) map[string]bool {
	names := map[string]bool{}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if err != io.EOF {
					t.Errorf("decoding the push: %v", err)
				}
				break
			}
			mu.Lock()
			names[mf.GetName()] = true
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	p, err := metricspush.New(metricspush.Options{URL: srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rs"}}
	rs.Status = corev1alpha1.RestoreSessionStatus{
		Phase: corev1alpha1.RestoreSucceeded, Duration: "1m", TotalComponents: 1,
		Components: map[string]corev1alpha1.ComponentRestoreStatus{"pod-0": {
			Phase: corev1alpha1.RestoreSucceeded, Duration: "50s", Progress: &corev1alpha1.RestoreProgress{RestoredBytes: 1, TotalBytes: 1},
		}},
	}
	if err := p.Push(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) == 0 {
		t.Fatal("the push carried no metrics")
	}
	return names
}

// registered reports whether the series name belongs to a registered
// metric: itself, or a histogram's or summary's _bucket, _sum or _count.
func registered(all metrics, name string) bool {
	if all.names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && all.compound[base] {
			return true
		}
	}
	return false
}

// promQL parses expressions as Prometheus does by default.
var promQL = parser.NewParser(parser.Options{})

// metricNames are the metric names an expression selects.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promQL.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	if len(names) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	return names
}

func allRegistered(t *testing.T) metrics {
	all := controllerMetrics(t)
	// The pushed metrics are all gauges.
	for n := range pushedMetrics(t) {
		all.names[n] = true
	}
	// Guards against a recorder that records nothing useful.
	for _, n := range []string{"restore_controller_restores_finished_total", "workqueue_depth", metricspush.MetricPhase, controller.MetricRestoreDeadline} {
		if !all.names[n] {
			t.Fatalf("%s missing from the registered metrics %v", n, all)
		}
	}
	return all
}

// TestPrometheusRules: the PrometheusRule's groups parse and validate as a
// Prometheus rule file, each alert has a severity and a summary, the three
// alerts the project promises exist, and every metric they name is
// registered.
func TestPrometheusRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Fatalf("%s %s, want monitoring.coreos.com/v1 PrometheusRule", pr.APIVersion, pr.Kind)
	}
	spec, err := yaml.JSONToYAML(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(spec, false, model.UTF8Validation, promQL, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("rulefmt: %v", err)
	}
	if groups == nil {
		t.FailNow()
	}
	all := allRegistered(t)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			where := g.Name + "/" + r.Alert + r.Record
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: want a severity label and a summary annotation", where)
			}
			for _, n := range metricNames(t, where, r.Expr) {
				if !registered(all, n) {
					t.Errorf("%s: metric %s is not one the controller registers or pushes", where, n)
				}
			}
		}
	}
	for _, want := range []string{"RestoreFailed", "RestoreNearDeadline", "RestoreControllerNotReconciling"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s among %v", want, alerts)
		}
	}
}

// grafanaVariable is a dashboard variable in a query: $name or ${name}.
var grafanaVariable = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)

// TestDashboard: the dashboard is Grafana JSON whose every query parses
// (variables replaced by a regular expression matching anything) and
// names only registered metrics.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both", dash.UID, dash.Title)
	}
	all := allRegistered(t)
	ids := map[int]bool{}
	queries := 0
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			queries++
			expr := grafanaVariable.ReplaceAllString(target.Expr, ".*")
			for _, n := range metricNames(t, "panel "+p.Title, expr) {
				if !registered(all, n) {
					t.Errorf("panel %q: metric %s is not one the controller registers or pushes", p.Title, n)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("%d queries, want the dashboard's panels to query", queries)
	}
}

// TestRegisteredIsStrict: the check rejects a name the code does not
// register, so the tests above can fail.
func TestRegisteredIsStrict(t *testing.T) {
	all := allRegistered(t)
	for _, n := range []string{"restore_controller_restores_total", "restoresession_phase_total", "workqueue_depth_bucket"} {
		if registered(all, n) {
			t.Errorf("registered(%q) = true, want false", n)
		}
	}
	if !registered(all, "restore_controller_restore_duration_seconds_bucket") {
		t.Error("a histogram's _bucket series is not recognised")
	}
}

package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	clientmetrics "k8s.io/client-go/tools/metrics"
	"k8s.io/client-go/util/workqueue"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	corelisters "github.com/restore-controller/restore/pkg/generated/listers/core/v1alpha1"
)

// Metrics are the controller's restore metrics, served on /metrics.
type Metrics struct {
	finished  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	deadlines *deadlineCollector
}

// Names of the metrics of restores in progress that have a deadline
// (spec.restoreTimeout), one series per RestoreSession, labelled
// namespace and restoresession. Alerts compare them with time():
// the fraction of the timeout used is
// 1 - (deadline_timestamp_seconds - time()) / timeout_seconds.
const (
	MetricRestoreDeadline = "restore_controller_restore_deadline_timestamp_seconds"
	MetricRestoreTimeout  = "restore_controller_restore_timeout_seconds"
)

// deadlineCollector reports, at scrape time, the deadline and timeout of
// every RestoreSession in the leader's informer cache that has a deadline
// and has not finished. Standby replicas (no lister yet) report none.
type deadlineCollector struct {
	deadline, timeout *prometheus.Desc
	mu                sync.Mutex
	lister            corelisters.RestoreSessionLister
}

func newDeadlineCollector() *deadlineCollector {
	labels := []string{"namespace", "restoresession"}
	return &deadlineCollector{
		deadline: prometheus.NewDesc(MetricRestoreDeadline,
			"When a restore in progress fails if it has not finished (status.restoreDeadline), as a Unix time.", labels, nil),
		timeout: prometheus.NewDesc(MetricRestoreTimeout,
			"spec.restoreTimeout of a restore in progress that has a deadline, in seconds.", labels, nil),
	}
}

func (c *deadlineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deadline
	ch <- c.timeout
}

func (c *deadlineCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	lister := c.lister
	c.mu.Unlock()
	if lister == nil {
		return
	}
	all, err := lister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, rs := range all {
		st := &rs.Status
		if st.RestoreDeadline == nil || rs.Spec.RestoreTimeout == nil ||
			st.Phase == corev1alpha1.RestoreSucceeded || st.Phase == corev1alpha1.RestoreFailed {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.deadline, prometheus.GaugeValue, float64(st.RestoreDeadline.Unix()), rs.Namespace, rs.Name)
		ch <- prometheus.MustNewConstMetric(c.timeout, prometheus.GaugeValue, rs.Spec.RestoreTimeout.Seconds(), rs.Namespace, rs.Name)
	}
}

// watchRestoreSessions makes the deadline metrics read lister (the leading
// controller's cache).
func (m *Metrics) watchRestoreSessions(lister corelisters.RestoreSessionLister) {
	m.deadlines.mu.Lock()
	defer m.deadlines.mu.Unlock()
	m.deadlines.lister = lister
}

// NewMetrics registers the restore metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "restore_controller",
			Name:      "restores_finished_total",
			Help:      "Restores that finished, by final phase.",
		}, []string{"phase"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "restore_controller",
			Name:      "restore_duration_seconds",
			Help:      "Time from a RestoreSession's creation to the end of its restore, by final phase.",
			Buckets:   prometheus.ExponentialBuckets(1, 2, 16), // 1 s … 9 h
		}, []string{"phase"}),
		deadlines: newDeadlineCollector(),
	}
	reg.MustRegister(m.finished, m.duration, m.deadlines)
	return m
}

// observeFinished counts a restore whose final status was just written.
func (m *Metrics) observeFinished(rs *corev1alpha1.RestoreSession) {
	phase := string(rs.Status.Phase)
	m.finished.WithLabelValues(phase).Inc()
	if d, err := time.ParseDuration(rs.Status.Duration); err == nil {
		m.duration.WithLabelValues(phase).Observe(d.Seconds())
	}
}

// WorkqueueMetricsProvider serves client-go's workqueue metrics (depth,
// adds, latency, work duration, retries) through reg. Install it with
// workqueue.SetProvider before the controller creates its queue.
func WorkqueueMetricsProvider(reg prometheus.Registerer) workqueue.MetricsProvider {
	return &queueMetrics{reg: reg}
}

type queueMetrics struct{ reg prometheus.Registerer }

// register registers c, or returns the collector already registered under
// the same description (a second queue of the same name shares metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (q *queueMetrics) gauge(name, help, queue string) prometheus.Gauge {
	return register(q.reg, prometheus.NewGauge(prometheus.GaugeOpts{Subsystem: "workqueue", Name: name, Help: help, ConstLabels: prometheus.Labels{"name": queue}}))
}

func (q *queueMetrics) counter(name, help, queue string) prometheus.Counter {
	return register(q.reg, prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "workqueue", Name: name, Help: help, ConstLabels: prometheus.Labels{"name": queue}}))
}

func (q *queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return q.gauge("depth", "Current depth of the workqueue.", name)
}

func (q *queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return q.counter("adds_total", "Total adds handled by the workqueue.", name)
}

func (q *queueMetrics) histogram(metric, help, queue string) prometheus.Histogram {
	return register(q.reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Subsystem: "workqueue", Name: metric, Help: help, ConstLabels: prometheus.Labels{"name": queue},
		Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12),
	}))
}

func (q *queueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return q.histogram("queue_duration_seconds", "How long an item stays in the workqueue before being processed.", name)
}

func (q *queueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return q.histogram("work_duration_seconds", "How long processing an item from the workqueue takes.", name)
}

func (q *queueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return q.gauge("unfinished_work_seconds", "Seconds of work in progress not yet observed by work_duration.", name)
}

func (q *queueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return q.gauge("longest_running_processor_seconds", "Seconds the longest running processor has been running.", name)
}

func (q *queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return q.counter("retries_total", "Total retries handled by the workqueue.", name)
}

// RegisterRESTClientMetrics serves client-go's request counter,
// rest_client_requests_total{code,method,host}, through reg: every request
// every client of the process makes (the informers' lists and watches, the
// controller's reads and writes, Events) is counted by HTTP method, so the
// API writes a restore costs can be read off /metrics. client-go accepts
// one registration per process; later calls change nothing.
func RegisterRESTClientMetrics(reg prometheus.Registerer) {
	requests := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rest_client_requests_total",
		Help: "Number of HTTP requests to the API server, partitioned by status code, method, and host.",
	}, []string{"code", "method", "host"}))
	clientmetrics.Register(clientmetrics.RegisterOpts{RequestResult: requestResult{requests}})
}

type requestResult struct{ requests *prometheus.CounterVec }

func (r requestResult) Increment(_ context.Context, code, method, host string) {
	r.requests.WithLabelValues(code, method, host).Inc()
}

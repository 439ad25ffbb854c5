package e2e

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/metricspush"
	"github.com/restore-controller/restore/test/framework"
)

// TestMetricsPushToPushgateway: with a real Pushgateway configured, two
// restores that succeed one after the other each leave their own group,
// and the gateway's /metrics serves their phase, component counts and
// duration with the grouping and restore labels.
func TestMetricsPushToPushgateway(t *testing.T) {
	gw := startPushgateway(t)
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "metrics-"+ns, "repo")
	w.dumpIntoAppData(t)
	pusher, err := metricspush.New(metricspush.Options{URL: gw})
	if err != nil {
		t.Fatal(err)
	}
	startController(t, func(o *controller.Options) { o.MetricsPusher = pusher })

	for _, name := range []string{"first", "second"} {
		createRestore(t, w.restoreSession(name, "snap", appDataTarget(), ""))
		rs := framework.WaitForPhase(t, restoreClient, ns, name, corev1alpha1.RestoreSucceeded, restoreTimeout)
		if cond := apimeta.FindStatusCondition(rs.Status.Conditions, corev1alpha1.TypeMetricsPushed); cond == nil || cond.Status != metav1.ConditionTrue ||
			cond.Reason != corev1alpha1.ReasonSuccessfullyPushedMetrics {
			t.Fatalf("%s: MetricsPushed = %+v, want True %s", name, cond, corev1alpha1.ReasonSuccessfullyPushedMetrics)
		}
	}

	// The restore reports Succeeded only after the push returned, so the
	// gateway already holds both groups.
	families := scrape(t, gw)
	for _, name := range []string{"first", "second"} {
		group := map[string]string{"job": metricspush.DefaultJob, "namespace": ns, "restoresession": name}
		restore := with(group, map[string]string{
			"target_kind": "PersistentVolumeClaim", "target_namespace": ns, "target_name": "app-data",
			"repository_namespace": ns, "repository": "repo", "snapshot": "snap", "addon": w.addon,
		})
		for _, want := range []struct {
			metric string
			labels map[string]string
			value  float64
		}{
			{metricspush.MetricPhase, with(restore, map[string]string{"phase": "Succeeded"}), 1},
			{metricspush.MetricPhase, with(restore, map[string]string{"phase": "Failed"}), 0},
			{metricspush.MetricPhase, with(restore, map[string]string{"phase": "Running"}), 0},
			{metricspush.MetricComponents, restore, 1},
			{metricspush.MetricComponentsSucceeded, restore, 1},
			{metricspush.MetricComponentsFailed, restore, 0},
			{metricspush.MetricComponentPhase, with(restore, map[string]string{"component": "dump", "phase": "Succeeded"}), 1},
		} {
			if got, ok := gaugeValue(families, want.metric, want.labels); !ok || got != want.value {
				t.Errorf("%s %v = %v (found %t), want %v", want.metric, want.labels, got, ok, want.value)
			}
		}
		for _, metric := range []string{metricspush.MetricDuration, metricspush.MetricComponentDuration} {
			labels := restore
			if metric == metricspush.MetricComponentDuration {
				labels = with(restore, map[string]string{"component": "dump"})
			}
			if got, ok := gaugeValue(families, metric, labels); !ok || got <= 0 {
				t.Errorf("%s %v = %v (found %t), want > 0", metric, labels, got, ok)
			}
		}
		// The gateway's own record of the group's last successful push.
		if got, ok := gaugeValue(families, "push_time_seconds", group); !ok || got <= 0 {
			t.Errorf("push_time_seconds %v = %v (found %t), want the push's time", group, got, ok)
		}
	}
	if t.Failed() {
		t.Logf("pushgateway /metrics families: %v", slices.Sorted(maps.Keys(families)))
	}
}

// TestMetricsPushUnreachablePushgateway: a push that cannot reach the
// gateway records MetricsPushed False with the connection error and fails
// the restore, although its component succeeded; the paused backup is
// still resumed.
func TestMetricsPushUnreachablePushgateway(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "nopush-"+ns, "repo")
	w.dumpIntoAppData(t)
	framework.MustCreate(t, "BackupConfiguration", func() error {
		_, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Create(ctx, &corev1alpha1.BackupConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec:       corev1alpha1.BackupConfigurationSpec{Target: appDataTarget()},
		}, metav1.CreateOptions{})
		return err
	})
	// A port that was just free and is closed again: connecting is refused.
	closed := framework.FreeAddress(t)
	pusher, err := metricspush.New(metricspush.Options{URL: "http://" + closed, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	startController(t, func(o *controller.Options) { o.MetricsPusher = pusher })

	createRestore(t, w.restoreSession("unpushed", "snap", appDataTarget(), ""))
	rs := framework.WaitForPhase(t, restoreClient, ns, "unpushed", corev1alpha1.RestoreFailed, restoreTimeout)

	cond := apimeta.FindStatusCondition(rs.Status.Conditions, corev1alpha1.TypeMetricsPushed)
	if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != corev1alpha1.ReasonFailedToPushMetrics {
		t.Fatalf("MetricsPushed = %+v, want False %s", cond, corev1alpha1.ReasonFailedToPushMetrics)
	}
	for _, want := range []string{closed, "connection refused"} {
		if !strings.Contains(cond.Message, want) {
			t.Errorf("MetricsPushed message %q does not name %q", cond.Message, want)
		}
	}
	// The data was restored: only the push failed.
	if comp := rs.Status.Components["dump"]; comp.Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("component dump = %+v, want Succeeded", comp)
	}
	// The final step resumed the backup before it recorded the failed push.
	if len(rs.Status.PausedBackups) != 1 || rs.Status.PausedBackups[0].Name != "nightly" {
		t.Errorf("pausedBackups = %v, want nightly", rs.Status.PausedBackups)
	}
	bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, marked := bc.Annotations[controller.AnnotationPausedBy]; bc.Spec.Paused || marked {
		t.Errorf("BackupConfiguration nightly not resumed: paused=%t annotations=%v", bc.Spec.Paused, bc.Annotations)
	}
}

// startPushgateway runs the Pushgateway built by `make tools` on a free
// port until the test ends and returns its URL once it reports ready.
func startPushgateway(t *testing.T) string {
	t.Helper()
	addr := framework.FreeAddress(t)
	url := "http://" + addr
	framework.StartProcess(t, "pushgateway", framework.ToolPath(t, "pushgateway"),
		[]string{"--web.listen-address=" + addr}, framework.HTTPReady(url+"/-/ready"))
	return url
}

// scrape reads the Pushgateway's /metrics in the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s/metrics: %v", url, err)
	}
	return families
}

// gaugeValue is the value of the gauge series of name whose labels are
// exactly labels, apart from the "instance" label the Pushgateway adds.
func gaugeValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := families[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			if l.GetName() != "instance" {
				got[l.GetName()] = l.GetValue()
			}
		}
		if maps.Equal(got, labels) && m.GetGauge() != nil {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// with returns a copy of base with extra's labels added.
func with(base, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

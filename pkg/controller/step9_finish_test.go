package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestFinish(t *testing.T) {
	tests := []struct {
		name       string
		components map[string]corev1alpha1.RestorePhase
		pusher     MetricsPusher
		wantPhase  corev1alpha1.RestorePhase
		wantPushed metav1.ConditionStatus
		wantEvent  string
	}{
		{
			name:       "all components succeeded",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded},
			pusher:     &recordingPusher{},
			wantPhase:  corev1alpha1.RestoreSucceeded,
			wantPushed: metav1.ConditionTrue,
			wantEvent:  "Normal " + EventReasonRestoreSucceeded + " " + fmt.Sprintf(EventMessageRestoreSucceeded, "1m30s", 2, 2),
		},
		{
			name:       "no pusher configured",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded},
			wantPhase:  corev1alpha1.RestoreSucceeded,
			wantPushed: metav1.ConditionTrue,
			wantEvent:  "Normal " + EventReasonRestoreSucceeded,
		},
		{
			name:       "a component failed",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreFailed},
			pusher:     &recordingPusher{},
			wantPhase:  corev1alpha1.RestoreFailed,
			wantPushed: metav1.ConditionTrue,
			wantEvent:  "Warning " + EventReasonRestoreFailed + ` Restore failed after 1m30s: component "pod-2" failed: kopia: boom`,
		},
		{
			name:       "metrics push fails",
			components: map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded},
			pusher:     &failingPusher{},
			wantPhase:  corev1alpha1.RestoreFailed,
			wantPushed: metav1.ConditionFalse,
			wantEvent:  "Warning " + EventReasonMetricsPushFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.MetricsPusher = tt.pusher
			f.start().mustSync()
			f.setComponents(tt.components)
			f.clock.Step(30 * time.Second)
			f.events()
			f.mustSync()
			rs := f.rs()
			expectPhase(t, rs, tt.wantPhase)
			if tt.wantPushed == metav1.ConditionTrue {
				expectCondition(t, rs, corev1alpha1.TypeMetricsPushed, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyPushedMetrics)
				if c := condition(rs, corev1alpha1.TypeMetricsPushed); c.Message != "Metrics have been pushed successfully." {
					t.Errorf("message = %q", c.Message)
				}
			} else {
				expectCondition(t, rs, corev1alpha1.TypeMetricsPushed, metav1.ConditionFalse, corev1alpha1.ReasonFailedToPushMetrics, "pushgateway unreachable")
			}
			// Created one minute before the first sync, finished 30 s later.
			if rs.Status.Duration != "1m30s" {
				t.Errorf("duration = %q, want 1m30s", rs.Status.Duration)
			}
			if ev := f.events(); !hasEvent(ev, tt.wantEvent) {
				t.Errorf("no event %q in %v", tt.wantEvent, ev)
			}
			if p, ok := tt.pusher.(*recordingPusher); ok {
				if len(p.phases) != 1 || p.phases[0] != tt.wantPhase {
					t.Errorf("pushed phases %v, want [%s]", p.phases, tt.wantPhase)
				}
			}

			// A finished RestoreSession is not processed again.
			f.clock.Step(time.Minute)
			for range 2 {
				f.mustSync()
				if w := f.writes(); len(w) != 0 {
					t.Errorf("finished RestoreSession processed again: %v", w)
				}
			}
			if ev := f.events(); len(ev) != 0 {
				t.Errorf("events after the end: %v", ev)
			}
			switch p := tt.pusher.(type) {
			case *recordingPusher:
				if len(p.phases) != 1 {
					t.Errorf("pushed %d times", len(p.phases))
				}
			case *failingPusher:
				if p.pushed != 1 {
					t.Errorf("pushed %d times", p.pushed)
				}
			}
		})
	}
}

// The controller's own metrics count each finished restore once.
func TestFinishObservesMetrics(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	f.opts.Metrics = NewMetrics(reg)
	f.start().mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
	f.mustSync()
	f.mustSync()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				got[key] = fmt.Sprint(m.GetCounter().GetValue())
			case m.GetHistogram() != nil:
				got[key] = fmt.Sprint(m.GetHistogram().GetSampleCount(), " ", m.GetHistogram().GetSampleSum())
			}
		}
	}
	want := map[string]string{
		"restore_controller_restores_finished_total{phase=Succeeded}":  "1",
		"restore_controller_restore_duration_seconds{phase=Succeeded}": "1 60",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}
}

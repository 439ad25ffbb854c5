package metricspush

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// Metric names; doc.go describes them.
const (
	MetricPhase                  = "restoresession_phase"
	MetricDuration               = "restoresession_duration_seconds"
	MetricComponents             = "restoresession_components"
	MetricComponentsSucceeded    = "restoresession_components_succeeded"
	MetricComponentsFailed       = "restoresession_components_failed"
	MetricComponentPhase         = "restoresession_component_phase"
	MetricComponentDuration      = "restoresession_component_duration_seconds"
	MetricComponentRestoredBytes = "restoresession_component_restored_bytes"
)

// Label names. The grouping labels (GroupingLabelNamespace,
// GroupingLabelRestoreSession) are added by the Pushgateway and must not be
// among them.
const (
	LabelPhase               = "phase"
	LabelComponent           = "component"
	LabelTargetKind          = "target_kind"
	LabelTargetNamespace     = "target_namespace"
	LabelTargetName          = "target_name"
	LabelRepositoryNamespace = "repository_namespace"
	LabelRepository          = "repository"
	LabelSnapshot            = "snapshot"
	LabelAddon               = "addon"
)

const (
	helpPhase                  = "1 for the phase the restore ended in, 0 for the other phases."
	helpDuration               = "Time from the RestoreSession's creation to its final step, in seconds."
	helpComponents             = "Components the restore covers (status.totalComponents)."
	helpComponentsSucceeded    = "Components restored successfully."
	helpComponentsFailed       = "Components whose restore failed."
	helpComponentPhase         = "1, labelled with the component's phase."
	helpComponentDuration      = "Time the component's restore took, in seconds."
	helpComponentRestoredBytes = "Bytes the component's restore wrote."

	// Kinds of status.dependencies entries the labels are resolved from.
	kindSnapshot   = "Snapshot"
	kindRepository = "Repository"
)

// phases are the values of restoresession_phase's phase label: every
// RestorePhase, so a restore's group always has all six series.
var phases = []corev1alpha1.RestorePhase{
	corev1alpha1.RestorePending, corev1alpha1.RestoreRunning, corev1alpha1.RestoreSucceeded,
	corev1alpha1.RestoreFailed, corev1alpha1.RestoreInvalid, corev1alpha1.RestorePhaseUnknown,
}

// restoreMetrics returns a fresh registry holding rs's metrics. It reads
// rs and never changes it. The restore must have finished: its phase must
// be one of the RestorePhases and its duration set.
func restoreMetrics(rs *corev1alpha1.RestoreSession) (*prometheus.Registry, error) {
	st := &rs.Status
	if !slices.Contains(phases, st.Phase) {
		return nil, fmt.Errorf("status.phase %q is not a restore phase", st.Phase)
	}
	if st.Duration == "" {
		return nil, errors.New("status.duration is empty: the restore has not finished")
	}
	duration, err := time.ParseDuration(st.Duration)
	if err != nil {
		return nil, fmt.Errorf("status.duration %q is not a duration: %w", st.Duration, err)
	}

	reg := prometheus.NewRegistry()
	labels := restoreLabels(rs)
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	gaugeVec := func(name, help string, variable ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, variable)
		reg.MustRegister(g)
		return g
	}

	phase := gaugeVec(MetricPhase, helpPhase, LabelPhase)
	for _, p := range phases {
		v := 0.0
		if p == st.Phase {
			v = 1
		}
		phase.WithLabelValues(string(p)).Set(v)
	}
	gauge(MetricDuration, helpDuration).Set(duration.Seconds())
	gauge(MetricComponents, helpComponents).Set(float64(st.TotalComponents))

	var succeeded, failed int
	compPhase := gaugeVec(MetricComponentPhase, helpComponentPhase, LabelComponent, LabelPhase)
	compDuration := gaugeVec(MetricComponentDuration, helpComponentDuration, LabelComponent)
	compBytes := gaugeVec(MetricComponentRestoredBytes, helpComponentRestoredBytes, LabelComponent)
	for name, comp := range st.Components {
		switch comp.Phase {
		case corev1alpha1.RestoreSucceeded:
			succeeded++
		case corev1alpha1.RestoreFailed:
			failed++
		}
		p := comp.Phase
		if p == "" {
			p = corev1alpha1.RestorePhaseUnknown
		}
		compPhase.WithLabelValues(name, string(p)).Set(1)
		if comp.Duration != "" {
			d, err := time.ParseDuration(comp.Duration)
			if err != nil {
				return nil, fmt.Errorf("status.components[%q].duration %q is not a duration: %w", name, comp.Duration, err)
			}
			compDuration.WithLabelValues(name).Set(d.Seconds())
		}
		if comp.Progress != nil {
			compBytes.WithLabelValues(name).Set(float64(comp.Progress.RestoredBytes))
		}
	}
	gauge(MetricComponentsSucceeded, helpComponentsSucceeded).Set(float64(succeeded))
	gauge(MetricComponentsFailed, helpComponentsFailed).Set(float64(failed))
	return reg, nil
}

// restoreLabels are the labels every series of rs carries: what was
// restored, from where, with which addon.
func restoreLabels(rs *corev1alpha1.RestoreSession) prometheus.Labels {
	ds := rs.Spec.DataSource
	dsNamespace := ds.Namespace
	if dsNamespace == "" {
		dsNamespace = rs.Namespace
	}
	labels := prometheus.Labels{
		LabelTargetKind:          "",
		LabelTargetNamespace:     "",
		LabelTargetName:          "",
		LabelRepositoryNamespace: dsNamespace,
		LabelRepository:          resolved(rs, kindRepository, ds.Repository),
		LabelSnapshot:            resolved(rs, kindSnapshot, ds.Snapshot),
		LabelAddon:               rs.Spec.Addon.Name,
	}
	if t := rs.Spec.Target; t != nil {
		labels[LabelTargetKind] = t.Kind
		labels[LabelTargetName] = t.Name
		labels[LabelTargetNamespace] = t.Namespace
		if t.Namespace == "" {
			labels[LabelTargetNamespace] = rs.Namespace
		}
	}
	return labels
}

// resolved is the name of the object of kind that validation found and
// recorded in status.dependencies (the concrete Snapshot for "latest", the
// Snapshot's Repository when spec names none), else the spec's name.
func resolved(rs *corev1alpha1.RestoreSession, kind, specName string) string {
	for _, d := range rs.Status.Dependencies {
		if d.Kind == kind && d.Found {
			return d.Name
		}
	}
	return specName
}

package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/internal/units"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 9, finish: the final step of every validated restore, whatever its
// outcome; records MetricsPushed, whose presence marks the restore
// finished.

// MetricsPusher sends a finished restore's metrics to a Pushgateway.
type MetricsPusher interface {
	Push(ctx context.Context, rs *corev1alpha1.RestoreSession) error
}

// finish is the final step of every restore that got past validation,
// whatever its outcome: it releases what the restore held (see release:
// the paused backups are resumed, the grants in other namespaces revoked),
// records the duration and the outcome, pushes the metrics, and records
// MetricsPushed, whose presence marks the restore finished. An error
// leaves MetricsPushed unset, so the whole step is retried.
func (c *Controller) finish(ctx context.Context, s *restoreState) error {
	rs := s.rs
	st := s.status()
	if err := c.release(ctx, rs); err != nil {
		return err
	}
	st.Duration = s.now.Sub(rs.CreationTimestamp.Time).Round(time.Millisecond).String()

	// The pushed metrics carry the phase the restore ends in.
	s.setCondition(corev1alpha1.TypeMetricsPushed, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyPushedMetrics, corev1alpha1.MessageMetricsPushed)
	st.Phase = status.CalculatePhase(st)
	if c.opts.MetricsPusher != nil {
		if err := c.opts.MetricsPusher.Push(ctx, rs); err != nil {
			msg := fmt.Sprintf("Failed to push metrics: %v", err)
			s.setCondition(corev1alpha1.TypeMetricsPushed, metav1.ConditionFalse, corev1alpha1.ReasonFailedToPushMetrics, msg)
			s.recordEvent(corev1.EventTypeWarning, EventReasonMetricsPushFailed, msg)
		}
	}

	phase := status.CalculatePhase(st)
	if dryRun(s) {
		s.setCondition(corev1alpha1.TypePlanned, metav1.ConditionTrue, corev1alpha1.ReasonDryRunCompleted, corev1alpha1.MessageDryRunCompleted)
		if phase == corev1alpha1.RestoreSucceeded {
			s.recordEvent(corev1.EventTypeNormal, EventReasonRestorePlanned, planSummary(st))
		}
	}
	if phase == corev1alpha1.RestoreSucceeded {
		s.recordEvent(corev1.EventTypeNormal, EventReasonRestoreSucceeded,
			fmt.Sprintf(EventMessageRestoreSucceeded, st.Duration, len(st.Components), st.TotalComponents))
	} else {
		s.recordEvent(corev1.EventTypeWarning, EventReasonRestoreFailed, fmt.Sprintf(EventMessageRestoreFailed, st.Duration, failureSummary(st)))
	}
	klog.FromContext(ctx).V(2).Info("Final step executed", "phase", phase, "duration", st.Duration)
	return nil
}

// failureSummary says why a restore failed: the failed steps' messages,
// then the failed components' errors.
func failureSummary(st *corev1alpha1.RestoreSessionStatus) string {
	var reasons []string
	for _, cond := range st.Conditions {
		failed := cond.Status == metav1.ConditionFalse
		if cond.Type == corev1alpha1.TypeRestoreIncomplete || cond.Type == corev1alpha1.TypeDeadlineExceeded {
			failed = cond.Status == metav1.ConditionTrue
		}
		if failed {
			reasons = append(reasons, cond.Message)
		}
	}
	var comps []string
	for name, comp := range st.Components {
		if comp.Phase == corev1alpha1.RestoreFailed {
			comps = append(comps, fmt.Sprintf("component %q failed: %s", name, comp.Error))
		}
	}
	sort.Strings(comps)
	reasons = append(reasons, comps...)
	if len(reasons) == 0 {
		return "not every component was restored"
	}
	return strings.Join(reasons, "; ")
}

// dryRun reports whether the restore's tasks were asked to plan only (the
// dryRun task param).
func dryRun(s *restoreState) bool {
	for _, t := range s.tasks {
		if v, err := strconv.ParseBool(t.Params[invocation.ParamDryRun]); err == nil && v {
			return true
		}
	}
	return false
}

// planSummary is the Event message of a dry run: the totals of the
// components' plans and the space they need, naming the volumes that lack it.
func planSummary(st *corev1alpha1.RestoreSessionStatus) string {
	var t corev1alpha1.RestorePlan
	var needed int64
	var short []string
	for _, name := range slices.Sorted(maps.Keys(st.Components)) {
		p := st.Components[name].Plan
		if p == nil {
			continue
		}
		t.Files += p.Files
		t.Bytes += p.Bytes
		t.Directories += p.Directories
		t.Symlinks += p.Symlinks
		t.OverwrittenFiles += p.OverwrittenFiles
		t.KeptFiles += p.KeptFiles
		t.KeptBytes += p.KeptBytes
		t.DeletedEntries += p.DeletedEntries
		for _, v := range p.Volumes {
			needed += v.NeededBytes
			if v.NeededBytes > v.FreeBytes {
				short = append(short, fmt.Sprintf("%s: %s needs %s, has %s free", name, v.Path, units.FormatBytes(v.NeededBytes), units.FormatBytes(v.FreeBytes)))
			}
		}
	}
	space := ", all of it free"
	if len(short) > 0 {
		space = "; too little space: " + strings.Join(short, "; ")
	}
	return fmt.Sprintf(EventMessageRestorePlanned, len(st.Components), t.Files, units.FormatBytes(t.Bytes), t.Directories, t.Symlinks,
		t.OverwrittenFiles, t.KeptFiles, units.FormatBytes(t.KeptBytes), t.DeletedEntries, units.FormatBytes(needed), space)
}

package restoreview

import (
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/internal/units"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// BarWidth is the number of cells of a progress bar.
const BarWidth = 24

// Bars renders rs as a header line and one progress bar per component:
//
//	demo/sample-restore: Running, 1/3 components, 40%, deadline in 55m
//	  pod-0  [############------------]  50%  5.0 MiB/10.0 MiB  84.2 MiB/s  ETA 1m20s
//	  pod-1  [########################] 100%  Succeeded in 3s
//
// Speed and ETA are the executors' own figures from status. now dates the
// deadline. The result always ends in a newline.
func Bars(rs *corev1alpha1.RestoreSession, now time.Time) string {
	var b strings.Builder
	st := &rs.Status
	fmt.Fprintf(&b, "%s/%s: %s", rs.Namespace, rs.Name, orNone(string(st.Phase)))
	if st.Progress != "" {
		fmt.Fprintf(&b, ", %s", st.Progress)
	}
	if d := st.RestoreDeadline; d != nil && !finished(st.Phase) {
		if left := d.Sub(now); left > 0 {
			fmt.Fprintf(&b, ", deadline in %s", left.Round(time.Second))
		} else {
			b.WriteString(", deadline passed")
		}
	}
	if st.Duration != "" {
		fmt.Fprintf(&b, ", took %s", st.Duration)
	}
	b.WriteString("\n")
	names := componentNames(st.Components)
	nameWidth := 0
	for _, n := range names {
		nameWidth = max(nameWidth, len(n))
	}
	for _, n := range names {
		c := st.Components[n]
		pct := int32(0)
		if c.Progress != nil {
			pct = c.Progress.Percentage
		}
		if c.Phase == corev1alpha1.RestoreSucceeded {
			pct = 100
		}
		fmt.Fprintf(&b, "  %-*s  %s %3d%%  %s\n", nameWidth, n, bar(pct), pct, strings.TrimSpace(componentState(c)))
	}
	if len(names) < int(st.TotalComponents) {
		fmt.Fprintf(&b, "  (%d more component(s) not started)\n", int(st.TotalComponents)-len(names))
	}
	return b.String()
}

// componentState is what a bar is followed by: bytes, speed and ETA while
// running; the phase, duration and error once done.
func componentState(c corev1alpha1.ComponentRestoreStatus) string {
	var b strings.Builder
	p := c.Progress
	switch c.Phase {
	case corev1alpha1.RestoreRunning:
		if p == nil {
			return "Running"
		}
		fmt.Fprintf(&b, "%s/%s", units.FormatBytes(p.RestoredBytes), units.FormatBytes(p.TotalBytes))
		if p.Speed != "" {
			fmt.Fprintf(&b, "  %s", p.Speed)
		}
		if p.ETA != "" {
			fmt.Fprintf(&b, "  ETA %s", p.ETA)
		}
	default:
		b.WriteString(orNone(string(c.Phase)))
		if p != nil && p.TotalBytes > 0 {
			fmt.Fprintf(&b, " %s", units.FormatBytes(p.RestoredBytes))
		}
		if c.Duration != "" {
			fmt.Fprintf(&b, " in %s", c.Duration)
		}
		if c.Error != "" {
			fmt.Fprintf(&b, ": %s", oneLine(c.Error))
		}
	}
	return b.String()
}

func bar(pct int32) string {
	pct = min(max(pct, 0), 100)
	full := int(pct) * BarWidth / 100
	return "[" + strings.Repeat("#", full) + strings.Repeat("-", BarWidth-full) + "]"
}

// ComponentLine is one component's state on one line, for logs and the
// line-by-line follower: "pod-0: Running 50% (5.0 MiB of 10.0 MiB, 3/7
// files, 84.2 MiB/s, ETA 1m20s)".
func ComponentLine(name string, c corev1alpha1.ComponentRestoreStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", name, orNone(string(c.Phase)))
	if p := c.Progress; p != nil {
		fmt.Fprintf(&b, " %d%% (%s of %s, %d/%d files", p.Percentage, units.FormatBytes(p.RestoredBytes), units.FormatBytes(p.TotalBytes), p.RestoredFiles, p.TotalFiles)
		if p.Speed != "" {
			fmt.Fprintf(&b, ", %s", p.Speed)
		}
		if p.ETA != "" && c.Phase == corev1alpha1.RestoreRunning {
			fmt.Fprintf(&b, ", ETA %s", p.ETA)
		}
		b.WriteString(")")
	}
	if c.Duration != "" {
		fmt.Fprintf(&b, " in %s", c.Duration)
	}
	if c.Error != "" {
		fmt.Fprintf(&b, ", error: %s", oneLine(c.Error))
	}
	return b.String()
}

// StatusLines are the keyed one-line facts of rs the line-by-line follower
// prints when they change: phase, resolved snapshot, each condition and
// each component. Keys are stable across updates.
func StatusLines(rs *corev1alpha1.RestoreSession) []KeyedLine {
	st := &rs.Status
	phase := string(st.Phase)
	if phase == "" {
		phase = "(none yet)"
	}
	lines := []KeyedLine{{"phase", fmt.Sprintf("phase %s, %d component(s)", phase, st.TotalComponents)}}
	if r := resolvedSnapshot(rs); r != "" {
		lines = append(lines, KeyedLine{"snapshot", fmt.Sprintf("snapshot %q resolved to %s", rs.Spec.DataSource.Snapshot, r)})
	}
	for _, c := range st.Conditions {
		line := fmt.Sprintf("condition %s=%s (%s)", c.Type, c.Status, c.Reason)
		if c.Status != metav1.ConditionTrue || c.Type == corev1alpha1.TypeRestoreIncomplete {
			line += ": " + oneLine(c.Message)
		}
		lines = append(lines, KeyedLine{"condition " + c.Type, line})
	}
	for _, n := range componentNames(st.Components) {
		lines = append(lines, KeyedLine{"component " + n, ComponentLine(n, st.Components[n])})
	}
	return lines
}

// KeyedLine is a line and what it is about.
type KeyedLine struct{ Key, Line string }

// finished reports whether phase is one a restore never leaves. Invalid is
// not: the controller proceeds once a missing object appears.
func finished(phase corev1alpha1.RestorePhase) bool {
	return phase == corev1alpha1.RestoreSucceeded || phase == corev1alpha1.RestoreFailed
}

// liveFrame writes frame over the previous one of prevLines lines on a
// terminal: cursor up, then each line cleared before it is written.
func liveFrame(w io.Writer, frame string, prevLines int) (int, error) {
	var b strings.Builder
	if prevLines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", prevLines)
	}
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	for _, l := range lines {
		b.WriteString("\x1b[2K" + l + "\n")
	}
	// A frame shorter than the last leaves its old lines: clear them.
	for i := len(lines); i < prevLines; i++ {
		b.WriteString("\x1b[2K\n")
	}
	_, err := io.WriteString(w, b.String())
	return max(len(lines), prevLines), err
}

package restoreview

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/restore-controller/restore/internal/units"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// MaxEvents is how many of the most recent Events Describe shows.
const MaxEvents = 10

// Describe writes rs for people, in the spirit of `velero restore
// describe`: phase and progress, target, data source and the resolved
// snapshot, addon tasks, each component's progress, hooks, paused backups,
// dependencies, conditions and the most recent of events (those about rs,
// any order). now dates ages and deadlines.
func Describe(w io.Writer, rs *corev1alpha1.RestoreSession, events []corev1.Event, now time.Time) error {
	st := &rs.Status
	p := &printer{w: w}
	p.field("Name", rs.Name)
	p.field("Namespace", rs.Namespace)
	p.field("Phase", orNone(string(st.Phase)))
	p.field("Progress", orNone(st.Progress))
	p.field("Created", timestamp(&rs.CreationTimestamp, now))
	p.field("Duration", orNone(st.Duration))
	deadline := timestamp(st.RestoreDeadline, now)
	if t := rs.Spec.RestoreTimeout; t != nil {
		deadline += ", restoreTimeout " + t.Duration.String()
	}
	p.field("Deadline", deadline)

	p.blank()
	target := none
	if t := rs.Spec.Target; t != nil {
		target = typedRef(*t, rs.Namespace)
	}
	if st.TargetFound != nil && !*st.TargetFound {
		target += " (not found)"
	}
	p.field("Target", target)
	ds := rs.Spec.DataSource
	p.line("Data source:")
	repo := none
	if ds.Repository != "" {
		repo = objectRef("", ds.Namespace, ds.Repository, rs.Namespace)
	}
	p.indentField("Repository", repo)
	snap := orNone(ds.Snapshot)
	if r := resolvedSnapshot(rs); r != "" && r != ds.Snapshot {
		snap += " (resolved to " + r + ")"
	}
	p.indentField("Snapshot", snap)
	if len(ds.Components) > 0 {
		p.indentField("Components", strings.Join(ds.Components, ", "))
	}
	if ds.PITR != nil && ds.PITR.TargetTime != nil {
		p.indentField("Point in time", ds.PITR.TargetTime.UTC().Format(time.RFC3339))
	}
	if s := ds.EncryptionSecret; s != nil {
		p.indentField("Encryption secret", objectRef("", s.Namespace, s.Name, rs.Namespace))
	}
	p.field("Addon", orNone(rs.Spec.Addon.Name))
	for _, task := range rs.Spec.Addon.Tasks {
		line := task.Name
		if task.Params != nil && len(task.Params.Raw) > 0 {
			line += " " + string(task.Params.Raw)
		}
		p.indentField("Task", line)
	}

	p.blank()
	p.line(fmt.Sprintf("Components (%d of %d reported):", len(st.Components), st.TotalComponents))
	if len(st.Components) == 0 {
		p.line("  " + none)
	} else {
		t := p.table("NAME", "PHASE", "PROGRESS", "SPEED", "ETA", "DURATION", "ERROR")
		for _, name := range componentNames(st.Components) {
			c := st.Components[name]
			speed, eta := "", ""
			if pr := c.Progress; pr != nil {
				speed = pr.Speed
				if c.Phase == corev1alpha1.RestoreRunning {
					eta = pr.ETA
				}
			}
			errMsg := oneLine(c.Error)
			if m := c.Manifests; m != nil {
				counts := fmt.Sprintf("manifests: %d created, %d existed, %d updated, %d skipped, %d failed",
					m.Created, m.AlreadyExisted, m.Updated, m.Skipped, m.Failed)
				errMsg = strings.TrimPrefix(errMsg+"; "+counts, "; ")
			}
			t.row(name, string(c.Phase), progressFigures(c.Progress), speed, eta, c.Duration, errMsg)
		}
		t.flush()
	}

	p.blank()
	p.line("Hooks:")
	if h := st.Hooks; h == nil || len(h.PreHooks)+len(h.PostHooks) == 0 {
		p.line("  " + none)
	} else {
		t := p.table("STAGE", "NAME", "PHASE", "ATTEMPTS", "MESSAGE")
		for _, hook := range h.PreHooks {
			t.row("preRestore", hook.Name, string(hook.Phase), fmt.Sprint(hook.Attempts), oneLine(hook.Message))
		}
		for _, hook := range h.PostHooks {
			t.row("postRestore", hook.Name, string(hook.Phase), fmt.Sprint(hook.Attempts), oneLine(hook.Message))
		}
		t.flush()
	}

	p.blank()
	p.line("Paused backups:")
	if len(st.PausedBackups) == 0 {
		p.line("  " + none)
	}
	for _, b := range st.PausedBackups {
		p.line("  " + typedRef(b, rs.Namespace))
	}

	p.blank()
	p.line("Dependencies:")
	if len(st.Dependencies) == 0 {
		p.line("  " + none)
	} else {
		t := p.table("KIND", "NAME", "FOUND")
		for _, d := range st.Dependencies {
			name := d.Name
			if d.Namespace != "" {
				name = d.Namespace + "/" + d.Name
			}
			t.row(d.Kind, name, fmt.Sprint(d.Found))
		}
		t.flush()
	}

	p.blank()
	p.line("Conditions:")
	if len(st.Conditions) == 0 {
		p.line("  " + none)
	} else {
		t := p.table("TYPE", "STATUS", "REASON", "AGE", "MESSAGE")
		for _, c := range st.Conditions {
			t.row(c.Type, string(c.Status), c.Reason, age(c.LastTransitionTime.Time, now), oneLine(c.Message))
		}
		t.flush()
	}

	p.blank()
	p.line("Events:")
	recent := RecentEvents(events, MaxEvents)
	if len(recent) == 0 {
		p.line("  " + none)
	} else {
		t := p.table("TYPE", "REASON", "AGE", "FROM", "MESSAGE")
		for _, e := range recent {
			t.row(e.Type, e.Reason, age(eventTime(e), now), e.Source.Component, oneLine(e.Message))
		}
		t.flush()
	}
	return p.err
}

// RecentEvents are the last n of events by time, oldest first.
func RecentEvents(events []corev1.Event, n int) []corev1.Event {
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	if len(sorted) > n {
		sorted = sorted[len(sorted)-n:]
	}
	return sorted
}

// eventTime is when an Event last happened: its last timestamp, else its
// event time (events.k8s.io writers), else its creation.
func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// resolvedSnapshot is the Snapshot validation found (status.dependencies),
// the concrete one when spec says "latest"; "" before validation.
func resolvedSnapshot(rs *corev1alpha1.RestoreSession) string {
	for _, d := range rs.Status.Dependencies {
		if d.Kind == "Snapshot" && d.Found {
			return d.Name
		}
	}
	return ""
}

// componentNames are the keys of components, sorted.
func componentNames(components map[string]corev1alpha1.ComponentRestoreStatus) []string {
	names := make([]string, 0, len(components))
	for n := range components {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// progressFigures is "42% 1.0 MiB/2.4 MiB 3/7 files", or "" without progress.
func progressFigures(p *corev1alpha1.RestoreProgress) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%d%% %s/%s %d/%d files", p.Percentage, units.FormatBytes(p.RestoredBytes), units.FormatBytes(p.TotalBytes), p.RestoredFiles, p.TotalFiles)
}

// printer writes lines and remembers the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *printer) blank() { p.line("") }

// field writes "Name:" padded so values line up.
func (p *printer) field(name, value string) { p.line(fmt.Sprintf("%-14s%s", name+":", value)) }

func (p *printer) indentField(name, value string) {
	p.line(fmt.Sprintf("  %-20s%s", name+":", value))
}

// table starts an indented, column-aligned table with a header row.
func (p *printer) table(header ...string) *table {
	t := &table{p: p, tw: tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

type table struct {
	p  *printer
	tw *tabwriter.Writer
}

func (t *table) row(cells ...string) {
	if t.p.err == nil {
		_, t.p.err = fmt.Fprintln(t.tw, "  "+strings.TrimRight(strings.Join(cells, "\t"), "\t"))
	}
}

func (t *table) flush() {
	if err := t.tw.Flush(); t.p.err == nil {
		t.p.err = err
	}
}

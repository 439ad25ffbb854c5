package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Kopia reports progress per file; the tracker passes on at most one report
// per ProgressInterval (plus the final one), and the final one is 100%.
func TestRestoreProgressIsThrottled(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	const nFiles = 150
	for i := range nFiles {
		p := filepath.Join(src, fmt.Sprintf("d%d/f%03d", i%3, i))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(fmt.Sprintf("file %03d\n", i)), 0o644))
	}
	rep := r.open(t, ctx)
	res, err := CreateSnapshots(ctx, rep, []SnapshotSource{{Dir: src, HostPath: "/data"}})
	must(t, err)

	restore := func(interval time.Duration) []Progress {
		t.Helper()
		var reports []Progress
		opts := r.restoreOpts(t.TempDir(), res)
		opts.ProgressInterval = interval
		opts.Progress = func(p Progress) { reports = append(reports, p) } // serialised by the tracker
		got, err := RestoreFromRepository(ctx, rep, opts)
		if err != nil {
			t.Fatalf("Restore(interval %v): %v", interval, err)
		}
		if len(reports) == 0 {
			t.Fatalf("interval %v: no progress reports", interval)
		}
		last := reports[len(reports)-1]
		if last.Percentage() != 100 || last.RestoredFiles != nFiles || last.TotalFiles != nFiles || last != got.Progress {
			t.Errorf("interval %v: final report %+v (result %+v), want all %d files, 100%%", interval, last, got.Progress, nFiles)
		}
		return reports
	}

	// Unthrottled, every kopia event is a report: at least one per file.
	if n := len(restore(0)); n < nFiles {
		t.Fatalf("unthrottled restore reported %d times, want at least %d (one per file)", n, nFiles)
	}
	// An interval longer than the restore leaves the first report and the final one.
	if reports := restore(time.Hour); len(reports) > 2 {
		t.Errorf("interval 1h: %d reports, want at most 2 (first and final)", len(reports))
	}
	// A short interval: reports are at least an interval apart (the final
	// one excepted), so there are at most elapsed/interval + 2 of them.
	const interval = 20 * time.Millisecond
	reports := restore(interval)
	for i := 1; i < len(reports)-1; i++ {
		if gap := reports[i].Elapsed - reports[i-1].Elapsed; gap < interval {
			t.Errorf("reports %d and %d only %v apart, want at least %v", i-1, i, gap, interval)
		}
	}
	if bound := int(reports[len(reports)-1].Elapsed/interval) + 2; len(reports) > bound {
		t.Errorf("interval %v: %d reports in %v, want at most %d", interval, len(reports), reports[len(reports)-1].Elapsed, bound)
	}
}

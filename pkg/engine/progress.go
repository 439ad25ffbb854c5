package engine

import (
	"sync"
	"time"

	"github.com/kopia/kopia/snapshot/restore"
)

// Progress is a point-in-time view of a restore.
type Progress struct {
	// TotalBytes and TotalFiles are what the restore will put in place,
	// from the snapshot roots' directory summaries (or a walk of the tree
	// when excludes apply). Files count regular files only.
	TotalBytes int64
	TotalFiles int64
	// RestoredBytes and RestoredFiles are in place: written now or, with
	// resume, found already matching (SkippedFiles/SkippedBytes of them).
	RestoredBytes int64
	RestoredFiles int64
	SkippedBytes  int64
	SkippedFiles  int64
	// Elapsed since the restore started.
	Elapsed time.Duration
	// BytesPerSecond counts written bytes only (skipped files cost nothing).
	BytesPerSecond float64
	// ETA is the estimated remaining time; negative when unknown.
	ETA time.Duration
}

// Percentage of bytes in place, 0–100; 100 when there is nothing to restore.
func (p Progress) Percentage() int32 {
	if p.TotalBytes <= 0 {
		if p.TotalFiles <= 0 || p.RestoredFiles >= p.TotalFiles {
			return 100
		}
		return int32(100 * p.RestoredFiles / p.TotalFiles)
	}
	pct := 100 * p.RestoredBytes / p.TotalBytes
	return int32(min(max(pct, 0), 100))
}

// progressTracker turns kopia's per-chunk callbacks (called concurrently
// from restore workers, once per Entry call) into throttled Progress reports.
type progressTracker struct {
	mu       sync.Mutex
	start    time.Time
	now      func() time.Time
	interval time.Duration
	report   func(Progress)
	lastSent time.Time

	totalBytes, totalFiles int64
	// base accumulates finished Entry calls; cur is the running one.
	base, cur restore.Stats
}

func newProgressTracker(totalBytes, totalFiles int64, interval time.Duration, report func(Progress), now func() time.Time) *progressTracker {
	if now == nil {
		now = time.Now
	}
	return &progressTracker{start: now(), now: now, interval: interval, report: report, totalBytes: totalBytes, totalFiles: totalFiles}
}

// update records kopia's stats for the running Entry call and reports when
// the interval has passed (every update when the interval is 0).
func (t *progressTracker) update(s restore.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cur = s
	if t.report == nil {
		return
	}
	now := t.now()
	if t.interval > 0 && now.Sub(t.lastSent) < t.interval {
		return
	}
	t.lastSent = now
	t.report(t.snapshotLocked(now))
}

// finishEntry folds the running Entry call's final stats into the base.
func (t *progressTracker) finishEntry(s restore.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base.RestoredTotalFileSize += s.RestoredTotalFileSize
	t.base.SkippedTotalFileSize += s.SkippedTotalFileSize
	t.base.RestoredFileCount += s.RestoredFileCount
	t.base.SkippedCount += s.SkippedCount
	t.base.DeletedFilesCount += s.DeletedFilesCount
	t.cur = restore.Stats{}
}

// snapshot returns the current progress and sends it to the reporter
// unconditionally when force is set.
func (t *progressTracker) snapshot(force bool) Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	p := t.snapshotLocked(now)
	if force && t.report != nil {
		t.lastSent = now
		t.report(p)
	}
	return p
}

func (t *progressTracker) snapshotLocked(now time.Time) Progress {
	written := t.base.RestoredTotalFileSize + t.cur.RestoredTotalFileSize
	skippedBytes := t.base.SkippedTotalFileSize + t.cur.SkippedTotalFileSize
	writtenFiles := int64(t.base.RestoredFileCount + t.cur.RestoredFileCount)
	skippedFiles := int64(t.base.SkippedCount + t.cur.SkippedCount)
	p := Progress{
		TotalBytes:    t.totalBytes,
		TotalFiles:    t.totalFiles,
		RestoredBytes: written + skippedBytes,
		RestoredFiles: writtenFiles + skippedFiles,
		SkippedBytes:  skippedBytes,
		SkippedFiles:  skippedFiles,
		Elapsed:       now.Sub(t.start),
		ETA:           -1,
	}
	// Kopia counts skipped symlinks as skipped files: keep the files ≤ total.
	if p.TotalFiles > 0 && p.RestoredFiles > p.TotalFiles {
		p.RestoredFiles = p.TotalFiles
	}
	if secs := p.Elapsed.Seconds(); secs > 0 {
		p.BytesPerSecond = float64(written) / secs
	}
	remaining := p.TotalBytes - p.RestoredBytes
	switch {
	case remaining <= 0:
		p.ETA = 0
	case p.BytesPerSecond > 0:
		p.ETA = time.Duration(float64(remaining) / p.BytesPerSecond * float64(time.Second))
	}
	return p
}

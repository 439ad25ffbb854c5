package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
	"github.com/kopia/kopia/snapshot/snapshotfs"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/engine/pathspec"
)

// SnapshotEntry is one kopia snapshot of a component (a Snapshot object's
// status.components[name].kopiaStats[i]).
type SnapshotEntry struct {
	// SnapshotID is the kopia manifest ID.
	SnapshotID string
	// HostPath is where the data came from; it is restored to
	// TargetRoot/HostPath.
	HostPath string
}

// RestoreOptions configures Restore and RestoreFromRepository.
type RestoreOptions struct {
	// Repository locates and unlocks the repository (Restore only).
	Repository RepositoryOptions
	// Entries are restored one after the other.
	Entries []SnapshotEntry
	// TargetRoot prefixes every destination ("/" in a Job).
	TargetRoot string
	// TargetMountPaths, when set, are the only directories (under
	// TargetRoot) a destination may lie in; checked before anything is written.
	TargetMountPaths []string
	// Include lists slash-separated paths inside each snapshot to restore
	// instead of everything (partial restore); each restores to its own
	// place under the destination. An include absent from one entry is
	// skipped there, but must exist in at least one. An absolute path is
	// read from the component's root, where the entries' hostPaths are
	// (entryIncludes).
	Include []string
	// Exclude lists glob patterns of snapshot paths not to restore (see
	// treeFilter.excluded for the matching rules); an absolute one, too,
	// is read from the component's root (treeFilter.forEntry).
	Exclude []string
	// Parallel is the number of files restored at once (0: DefaultParallel).
	Parallel int
	// Resume skips files whose size and mtime already match (kopia's
	// incremental restore), so a retried restore continues where it stopped.
	Resume bool
	// DeleteExtra removes target entries the snapshot lacks.
	DeleteExtra bool
	// Sparse writes zero runs as holes.
	Sparse bool
	// ProgressInterval throttles Progress calls; 0 reports every kopia
	// progress event (tests).
	ProgressInterval time.Duration
	// Progress, if set, receives progress reports, serialised, from
	// restore workers. It must not block for long.
	Progress func(Progress)
	// CheckOptions: dry run, verify, bandwidth limit (plan.go).
	CheckOptions
}

// Result summarises a finished restore.
type Result struct {
	Progress
	// DeletedEntries counts target entries removed by DeleteExtra.
	DeletedEntries int64
	// CheckResults: the plan and the verification (plan.go).
	CheckResults
}

// Restore opens the repository described by opts.Repository, restores
// opts.Entries and closes the repository.
func Restore(ctx context.Context, opts RestoreOptions) (Result, error) {
	ropts := opts.Repository
	ropts.ReadOnly = true
	ropts.Create = false
	rep, err := OpenRepository(ctx, ropts)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if err := rep.Close(context.WithoutCancel(ctx)); err != nil {
			klog.FromContext(ctx).Error(err, "Closing the repository")
		}
	}()

	// A fatal repository error aborts the restore instead of os.Exit.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-rep.Fatal():
			cancel(classifyRepoError(fmt.Errorf("fatal repository error: %w", rep.FatalError())))
		case <-ctx.Done():
		}
	}()
	return RestoreFromRepository(ctx, rep, opts)
}

// restoreRoot is one tree kopia restores: a snapshot root or an included
// sub-path of it.
type restoreRoot struct {
	entry kopiafs.Entry
	// filter is the exclude filter of the snapshot entry (treeFilter.forEntry).
	filter   *treeFilter
	snapRel  string // slash-separated path of entry inside the snapshot ("" = root)
	target   string // absolute path entry is restored to
	boundary string
	label    string
	// mtime is the recorded mtime of an included directory (kopia's
	// lookup reports its DirSummary.MaxModTime; see treeFilter).
	mtime *time.Time
}

// RestoreFromRepository restores opts.Entries from an open repository
// (opts.Repository is ignored).
func RestoreFromRepository(ctx context.Context, rep repo.Repository, opts RestoreOptions) (Result, error) {
	logger := klog.FromContext(ctx)
	if len(opts.Entries) == 0 {
		return Result{}, fmt.Errorf("nothing to restore: no snapshot entries")
	}
	if opts.TargetRoot == "" {
		opts.TargetRoot = "/"
	}
	filter, err := newTreeFilter(opts.Exclude)
	if err != nil {
		return Result{}, err
	}
	filter.rep = rep
	includes, err := normalizeIncludes(opts.Include)
	if err != nil {
		return Result{}, err
	}

	// Check every destination before writing anything.
	dests := make([]destination, len(opts.Entries))
	for i, e := range opts.Entries {
		if dests[i], err = resolveDestination(opts.TargetRoot, opts.TargetMountPaths, e.HostPath); err != nil {
			return Result{}, err
		}
	}

	var roots []restoreRoot
	found := make([]bool, len(includes))
	for i, e := range opts.Entries {
		if _, err := loadSnapshotManifest(ctx, rep, e.SnapshotID); err != nil {
			return Result{}, err
		}
		incs, whole := entryIncludes(includes, e.HostPath)
		entryFilter, excluded := filter.forEntry(e.HostPath)
		for _, j := range whole {
			found[j] = true
		}
		if excluded {
			continue
		}
		if len(includes) == 0 || len(whole) > 0 {
			entry, err := snapshotfs.FilesystemEntryFromIDWithPath(ctx, rep, e.SnapshotID, false)
			if err != nil {
				return Result{}, classifyRepoError(fmt.Errorf("reading snapshot %s: %w", e.SnapshotID, err))
			}
			roots = append(roots, restoreRoot{entry: entry, filter: entryFilter, target: dests[i].Path, boundary: dests[i].Boundary, label: e.SnapshotID})
			continue
		}
		for _, ei := range incs {
			inc := ei.rel
			entry, err := snapshotfs.FilesystemEntryFromIDWithPath(ctx, rep, e.SnapshotID+"/"+inc, false)
			if err != nil && (errors.Is(err, kopiafs.ErrEntryNotFound) || strings.Contains(err.Error(), "entry not found")) {
				continue
			}
			if err != nil {
				return Result{}, classifyRepoError(fmt.Errorf("reading %q in snapshot %s: %w", inc, e.SnapshotID, err))
			}
			for _, j := range ei.indexes {
				found[j] = true
			}
			if entryFilter.excluded(inc) {
				continue
			}
			var mtime *time.Time
			if entry.IsDir() {
				if mtime, err = includedDirMTime(ctx, rep, entryFilter, e.SnapshotID, inc); err != nil {
					return Result{}, classifyRepoError(fmt.Errorf("reading %q in snapshot %s: %w", inc, e.SnapshotID, err))
				}
			}
			roots = append(roots, restoreRoot{
				entry: entry, filter: entryFilter, snapRel: inc, mtime: mtime,
				target:   filepath.Join(dests[i].Path, filepath.FromSlash(inc)),
				boundary: dests[i].Boundary,
				label:    e.SnapshotID + "/" + inc,
			})
		}
	}
	for j, ok := range found {
		if !ok {
			return Result{}, fmt.Errorf("include path %q is in none of the snapshots%s", includes[j], absoluteIncludeHint(includes[j], opts.Entries))
		}
	}

	var totalBytes, totalFiles int64
	for _, r := range roots {
		b, f, err := treeTotals(ctx, r.entry, r.snapRel, r.filter)
		if err != nil {
			return Result{}, classifyRepoError(fmt.Errorf("sizing %s: %w", r.label, err))
		}
		totalBytes += b
		totalFiles += f
	}
	// Hook (plan.go): bandwidth limit, space check, dry run; nothing written yet.
	plan, err := preflight(ctx, rep, roots, opts, totalBytes)
	if err != nil || opts.DryRun {
		return Result{Progress: Progress{TotalBytes: totalBytes, TotalFiles: totalFiles, ETA: -1}, CheckResults: CheckResults{Plan: plan}}, err
	}
	tracker := newProgressTracker(totalBytes, totalFiles, opts.ProgressInterval, opts.Progress, nil)
	logger.Info("Restoring", "roots", len(roots), "totalBytes", totalBytes, "totalFiles", totalFiles)

	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel()
	}
	memLimit, _ := containerMemoryLimit()
	// One chunk budget for every root (chunked.go).
	fetcher := newChunkFetcher(rep, parallel, memLimit)

	var deleted int64
	for _, r := range roots {
		n, err := restoreOne(ctx, rep, r, opts, parallel, fetcher, tracker)
		deleted += n
		if err != nil {
			return Result{Progress: tracker.snapshot(false), DeletedEntries: deleted}, err
		}
	}
	for _, r := range roots {
		p := r.target
		if !r.entry.IsDir() {
			p = filepath.Dir(p)
		}
		if err := syncFilesystem(p); err != nil {
			return Result{Progress: tracker.snapshot(false), DeletedEntries: deleted}, err
		}
	}
	res := Result{Progress: tracker.snapshot(true), DeletedEntries: deleted, CheckResults: CheckResults{Plan: plan}}
	if opts.Verify { // Hook (verify.go): re-read what was written.
		res.Verification, err = verifyRoots(ctx, rep, roots, opts)
	}
	return res, err
}

// restoreOne restores one root and returns how many entries delete-extra removed.
func restoreOne(ctx context.Context, rep repo.Repository, r restoreRoot, opts RestoreOptions, parallel int, fetcher *chunkFetcher, tracker *progressTracker) (int64, error) {
	filter := r.filter
	logger := klog.FromContext(ctx).WithValues("snapshot", r.label, "target", r.target)
	out, err := newBeneathOutput(r.boundary, r.target, r.entry.IsDir())
	if err != nil {
		return 0, err
	}
	defer out.release()
	out.sparse = opts.Sparse
	out.deleteExtra = opts.DeleteExtra
	out.excluded = func(rel string) bool { return filter.excluded(path.Join(r.snapRel, rel)) }
	memLimit, _ := containerMemoryLimit()
	out.wb = newWriteback(out.root, memLimit)
	out.fetcher = fetcher
	root := filter.wrapWithMTime(r.entry, r.snapRel, r.mtime)

	// Kopia checks Cancel between entries and then returns success: the
	// caller must look at ctx afterwards. The channel is also closed
	// synchronously from the progress callback once ctx is done, so a
	// cancellation takes effect at the very next entry.
	cancelCh := make(chan struct{})
	var cancelOnce sync.Once
	closeCancel := func() { cancelOnce.Do(func() { close(cancelCh) }) }
	stop := context.AfterFunc(ctx, closeCancel)
	defer stop()

	start := time.Now()
	stats, err := restore.Entry(ctx, rep, out, root, restore.Options{
		Parallel:    parallel,
		Incremental: opts.Resume,
		// Depth 0 would write ".kopia-entry" placeholders instead of contents.
		RestoreDirEntryAtDepth: math.MaxInt32,
		Cancel:                 cancelCh,
		ProgressCallback: func(_ context.Context, s restore.Stats) {
			tracker.update(s)
			if ctx.Err() != nil {
				closeCancel()
			}
		},
	})
	if wbErr := out.wb.close(); err == nil && wbErr != nil {
		err = wbErr
	}
	if err != nil {
		return out.deleted.Load(), classifyRestoreError(fmt.Errorf("restoring %s to %q: %w", r.label, r.target, err))
	}
	tracker.finishEntry(stats)
	if err := context.Cause(ctx); err != nil {
		return out.deleted.Load(), fmt.Errorf("restore of %s to %q interrupted: %w", r.label, r.target, err)
	}
	logger.Info("Restored snapshot tree", "files", stats.RestoredFileCount, "skipped", stats.SkippedCount,
		"bytes", stats.RestoredTotalFileSize, "deleted", out.deleted.Load(), "duration", time.Since(start))
	return out.deleted.Load(), nil
}

// loadSnapshotManifest fails with ErrSnapshotNotFound unless id is a
// snapshot manifest in the repository (kopia would also accept object IDs).
func loadSnapshotManifest(ctx context.Context, rep repo.Repository, id string) (*snapshot.Manifest, error) {
	if id == "" || strings.ContainsAny(id, "/ ") {
		return nil, fmt.Errorf("%w: invalid snapshot ID %q", ErrSnapshotNotFound, id)
	}
	man, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(id))
	if errors.Is(err, snapshot.ErrSnapshotNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrSnapshotNotFound, id)
	}
	if err != nil {
		return nil, classifyRepoError(fmt.Errorf("loading snapshot %s: %w", id, err))
	}
	return man, nil
}

// includedDirMTime returns the mtime the snapshot recorded for the
// directory at inc (slash-separated, non-empty) inside snapshot id, read from
// its parent's manifest.
func includedDirMTime(ctx context.Context, rep repo.Repository, filter *treeFilter, id, inc string) (*time.Time, error) {
	parentPath := id
	if dir := path.Dir(inc); dir != "." {
		parentPath += "/" + dir
	}
	parent, err := snapshotfs.FilesystemEntryFromIDWithPath(ctx, rep, parentPath, false)
	if err != nil {
		return nil, err //nolint:wrapcheck
	}
	pd, ok := parent.(kopiafs.Directory)
	if !ok {
		return nil, nil
	}
	mtimes, err := filter.recordedDirMTimes(ctx, pd)
	if err != nil {
		return nil, err
	}
	return lookupTime(mtimes, path.Base(inc)), nil
}

// normalizeIncludes cleans include paths and drops those nested in another
// of the same kind: relative to the snapshot's root, or absolute (see
// rebase).
func normalizeIncludes(in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		// An absolute path is relative to the component's root
		// (entryIncludes).
		c, err := pathspec.CleanInclude(p)
		if err != nil {
			return nil, err
		}
		if c == "." {
			return nil, nil // the whole snapshot
		}
		out = append(out, c)
	}
	var kept []string
	for i, a := range out {
		nested := false
		for j, b := range out {
			if i != j && (strings.HasPrefix(a, b+"/") || (a == b && j < i)) {
				nested = true
				break
			}
		}
		if !nested {
			kept = append(kept, a)
		}
	}
	return kept, nil
}

// treeTotals returns the bytes and regular files under e: from the
// directory summary kopia stored at snapshot time, or by walking the
// (filtered) tree when excludes could remove entries.
func treeTotals(ctx context.Context, e kopiafs.Entry, snapRel string, filter *treeFilter) (bytes, files int64, err error) {
	d, ok := e.(kopiafs.Directory)
	if !ok {
		if _, isFile := e.(kopiafs.File); isFile {
			return e.Size(), 1, nil
		}
		return 0, 0, nil
	}
	if len(filter.excludes) == 0 {
		if ds, ok := d.(kopiafs.DirectoryWithSummary); ok {
			if s, err := ds.Summary(ctx); err == nil && s != nil {
				return s.TotalFileSize, s.TotalFileCount, nil
			}
		}
	}
	err = kopiafs.IterateEntries(ctx, filter.wrap(d, snapRel).(kopiafs.Directory), func(ctx context.Context, c kopiafs.Entry) error {
		b, f, err := treeTotals(ctx, c, path.Join(snapRel, c.Name()), filter)
		bytes += b
		files += f
		return err
	})
	return bytes, files, err //nolint:wrapcheck
}

// classifyRestoreError names the cause users care about.
func classifyRestoreError(err error) error {
	switch {
	case errors.Is(err, ErrUnsafeEntryName), errors.Is(err, ErrSymlinkInPath), errors.Is(err, ErrOutsideTarget):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		strings.Contains(err.Error(), "no space left on device"), strings.Contains(err.Error(), "disk quota exceeded"):
		return fmt.Errorf("%w: %w", ErrNoSpaceLeft, err)
	default:
		return classifyRepoError(err)
	}
}

// DefaultParallel is how many files a restore writes at once by default: at
// least 8, more on larger machines. Many small files are bound by per-file
// metadata calls, not CPU, so more files in flight than CPUs hide that
// latency (bench/: 20,000 small files restore faster with 8 workers than
// with 2 on a 2-CPU machine). GOMAXPROCS follows the container's CPU limit.
func DefaultParallel() int {
	return max(8, runtime.GOMAXPROCS(0))
}

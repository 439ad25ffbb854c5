package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	kopiafs "github.com/kopia/kopia/fs"
	"golang.org/x/sys/unix"
)

// Plan, space check, verify and bandwidth limit: what a restore does
// besides writing. RestoreOptions embeds CheckOptions and Result embeds
// CheckResults, so restore.go only holds the hook points (preflight before
// the first write, verifyRoots after the sync).

// CheckOptions are the options of a restore's checks.
type CheckOptions struct {
	// DryRun reads the snapshot and the target and writes nothing: the
	// result's Plan says what a restore with the same options would do.
	DryRun bool
	// Verify re-reads every restored file after the restore and compares
	// its kopia object ID, mode, size and mtime with the snapshot's
	// (verify.go); a mismatch fails the restore with ErrVerificationFailed.
	Verify bool
	// BandwidthLimit caps the bytes read from the storage per second, for
	// all workers together (throttle.go); 0 is unlimited.
	BandwidthLimit int64
}

// CheckResults are what the checks found.
type CheckResults struct {
	// Plan is set for a dry run, and for a real restore whose target's
	// free space was not obviously enough (the space check then walked the
	// tree).
	Plan *Plan
	// Verification is set when CheckOptions.Verify was.
	Verification *Verification
}

// Plan is what a restore would do to its target.
type Plan struct {
	// Files, Dirs and Symlinks the restore would write: files new or
	// overwritten, directories created, symlinks created or replaced.
	Files    int64
	Dirs     int64
	Symlinks int64
	// Bytes of the files it would write.
	Bytes int64
	// OverwrittenFiles exist in the target with another size or mtime (or
	// any, without resume) and would be rewritten; counted in Files.
	OverwrittenFiles int64
	// KeptFiles and KeptBytes already match (size and mtime) and a
	// restore with resume skips them.
	KeptFiles int64
	KeptBytes int64
	// DeletedEntries delete-extra would remove (a directory counts once).
	DeletedEntries int64
	// Volumes are the filesystems the restore writes to, with their free
	// space and the bytes it needs there.
	Volumes []VolumeSpace
}

// VolumeSpace is one filesystem a restore writes to.
type VolumeSpace struct {
	// Path is the first restore destination on the filesystem.
	Path string
	// Free is what an unprivileged writer may still allocate (statfs f_bavail).
	Free int64
	// Needed is the bytes the restore would add: the files it writes,
	// minus what the files it overwrites occupy now.
	Needed int64
}

// preflight runs before anything is written: it applies the bandwidth
// limit, checks that every filesystem the roots are restored to has room
// for the bytes to write, and, for a dry run, walks the snapshot and the
// target into a Plan. totalBytes is the roots' total file size: when every
// filesystem has that much free the check needs no walk.
func preflight(ctx context.Context, rep any, roots []restoreRoot, opts RestoreOptions, totalBytes int64) (*Plan, error) {
	if err := setBandwidthLimit(rep, opts.BandwidthLimit); err != nil {
		return nil, err
	}
	vols, err := rootVolumes(roots)
	if err != nil {
		return nil, err
	}
	if !opts.DryRun && allFit(vols, totalBytes) {
		return nil, nil
	}
	plan := &Plan{}
	for i, r := range roots {
		w := planWalker{plan: plan, resume: opts.Resume, deleteExtra: opts.DeleteExtra, excluded: func(rel string) bool {
			return r.filter.excluded(path.Join(r.snapRel, rel))
		}}
		if err := w.root(ctx, r); err != nil {
			return nil, classifyRestoreError(fmt.Errorf("planning %s to %q: %w", r.label, r.target, err))
		}
		vols.at(i).Needed += w.needed
	}
	plan.Volumes = vols.list
	if opts.DryRun {
		return plan, nil
	}
	return plan, vols.check()
}

// planWalker walks one restore root's snapshot tree beside its target and
// counts what the restore would do. It only reads: directories are opened
// beneath the restore boundary without following symlinks, as the
// restore's own lookups are (beneath.go).
type planWalker struct {
	plan        *Plan
	resume      bool
	deleteExtra bool
	excluded    func(rel string) bool
	// needed is the bytes the root adds to its filesystem.
	needed int64
}

func (w *planWalker) root(ctx context.Context, r restoreRoot) error {
	dirPath, name := r.target, ""
	if !r.entry.IsDir() {
		dirPath, name = filepath.Dir(r.target), filepath.Base(r.target)
	}
	dir, err := openExistingBeneath(r.boundary, dirPath)
	if err != nil {
		return err
	}
	if dir != nil {
		defer dir.Close() //nolint:errcheck
	}
	root := r.filter.wrapWithMTime(r.entry, r.snapRel, r.mtime)
	if name != "" {
		return w.entry(ctx, dir, name, "", root)
	}
	if dir == nil {
		w.plan.Dirs++
	}
	d, ok := root.(kopiafs.Directory)
	if !ok {
		return nil
	}
	return w.dir(ctx, dir, "", d)
}

// openExistingBeneath opens the directory p beneath boundary, or returns
// nil when it (or boundary) does not exist yet.
func openExistingBeneath(boundary, p string) (*os.File, error) {
	rel, err := filepath.Rel(boundary, p)
	if err != nil || (rel != "." && !filepath.IsLocal(rel)) {
		return nil, fmt.Errorf("%w: %q is not under %q", ErrOutsideTarget, p, boundary)
	}
	b, err := os.OpenFile(boundary, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening restore boundary %q: %w", boundary, err)
	}
	defer b.Close() //nolint:errcheck
	d, err := openDirBeneath(b, filepath.ToSlash(rel))
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	return d, err
}

// dir counts directory d of the snapshot, at rel; target is its
// directory in the target, nil when it does not exist.
func (w *planWalker) dir(ctx context.Context, target *os.File, rel string, d kopiafs.Directory) error {
	names := map[string]bool{} // snapshot child name -> is a directory
	err := kopiafs.IterateEntries(ctx, d, func(ctx context.Context, e kopiafs.Entry) error {
		names[e.Name()] = e.IsDir()
		return w.entry(ctx, target, e.Name(), rel, e)
	})
	if err != nil || target == nil || !w.deleteExtra {
		return err //nolint:wrapcheck
	}
	existing, err := target.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("reading %q: %w", target.Name(), err)
	}
	for _, x := range existing {
		if w.excluded(path.Join(rel, x.Name())) {
			continue
		}
		if isDir, ok := names[x.Name()]; !ok || isDir != x.IsDir() {
			w.plan.DeletedEntries++
		}
	}
	return nil
}

// entry counts the snapshot entry e named name in the target directory
// parent (nil: it does not exist) of the snapshot directory parentRel.
func (w *planWalker) entry(ctx context.Context, parent *os.File, name, parentRel string, e kopiafs.Entry) error {
	var st unix.Stat_t
	exists := false
	if parent != nil {
		var err error
		if st, exists, err = lstatAt(parent, name); err != nil {
			return err
		}
	}
	switch e := e.(type) {
	case kopiafs.Directory:
		var child *os.File
		if exists && fileType(&st) == unix.S_IFDIR {
			var err error
			if child, err = openChildDir(parent, name, filepath.Join(parent.Name(), name)); err != nil {
				return err
			}
			defer child.Close() //nolint:errcheck
		} else {
			w.plan.Dirs++
		}
		return w.dir(ctx, child, path.Join(parentRel, name), e)
	case kopiafs.File:
		size := e.Size()
		if exists && fileType(&st) == unix.S_IFREG {
			if w.resume && sameFile(&st, e) {
				w.plan.KeptFiles++
				w.plan.KeptBytes += size
				return nil
			}
			w.plan.OverwrittenFiles++
			// Overwriting truncates first: the file's blocks are freed.
			w.needed += max(0, size-st.Blocks*512)
		} else {
			w.needed += size
		}
		w.plan.Files++
		w.plan.Bytes += size
	case kopiafs.Symlink:
		if exists && fileType(&st) == unix.S_IFLNK && w.resume {
			return nil // kopia's incremental restore keeps an existing link
		}
		w.plan.Symlinks++
	}
	return nil
}

// sameFile reports whether the target file st is the snapshot file e as a
// resumed restore judges it (kopia's incremental rule): a regular file of
// the same size whose mtime is within maxTimeDeltaSameFile.
func sameFile(st *unix.Stat_t, e kopiafs.File) bool {
	return fileType(st) == unix.S_IFREG && st.Size == e.Size() &&
		statMTime(st).Sub(e.ModTime()).Abs() < maxTimeDeltaSameFile
}

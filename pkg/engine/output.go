package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
)

// guardedOutput wraps kopia's FilesystemOutput so that no write follows a
// symlink out of the target.
//
// Kopia v0.21.1's FilesystemOutput resolves every path with os.Stat /
// os.OpenFile, which follow symlinks: a symlink already in the target (or
// restored earlier) at a directory's or file's path would redirect the
// write. The invariants kept here:
//   - a directory is written into only after BeginDirectory made it a real
//     directory (a symlink in its place is removed: the snapshot says
//     "directory") and recorded it in dirs;
//   - a file or symlink is written only when its parent is in dirs, and a
//     symlink in the file's place is removed first, so O_TRUNC never opens
//     the link's target;
//   - names are single path elements (treeFilter), so parent/child relations
//     here are exactly those of the snapshot.
//
// It also implements delete-extra, because kopia only does that for its own
// *FilesystemOutput type and silently skips it for a wrapper.
type guardedOutput struct {
	inner       *restore.FilesystemOutput
	root        string // == inner.TargetPath
	deleteExtra bool
	// excluded reports whether a path relative to the restore root is
	// excluded; delete-extra leaves excluded paths alone.
	excluded func(rel string) bool

	dirs sync.Map // rel (slash-separated) -> struct{}: verified real directories

	deleted atomic.Int64
}

var _ restore.Output = (*guardedOutput)(nil)

func (o *guardedOutput) full(rel string) string {
	return filepath.Join(o.root, filepath.FromSlash(rel))
}

// checkRel validates a relative path handed to us by kopia's walk.
func (o *guardedOutput) checkRel(rel string) error {
	if rel == "" || filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsafeEntryName, rel)
}

// parentVerified fails unless rel's parent directory was made by BeginDirectory.
func (o *guardedOutput) parentVerified(rel string) error {
	if err := o.checkRel(rel); err != nil {
		return err
	}
	if rel == "" {
		return nil // the root itself; checked by the caller with checkNoSymlinks.
	}
	parent := path.Dir(rel)
	if parent == "." {
		parent = ""
	}
	if _, ok := o.dirs.Load(parent); !ok {
		return fmt.Errorf("internal error: %q written before its directory", rel)
	}
	return nil
}

// removeIfSymlink removes p when it is a symlink (never its target).
func removeIfSymlink(p string) error {
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %q: %w", p, err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("replacing symlink %q: %w", p, err)
		}
	}
	return nil
}

func (o *guardedOutput) Parallelizable() bool { return o.inner.Parallelizable() }

func (o *guardedOutput) BeginDirectory(ctx context.Context, rel string, d kopiafs.Directory) error {
	if err := o.parentVerified(rel); err != nil {
		return err
	}
	p := o.full(rel)
	if err := removeIfSymlink(p); err != nil {
		return err
	}
	if err := o.inner.BeginDirectory(ctx, rel, d); err != nil {
		return err //nolint:wrapcheck
	}
	st, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("checking restored directory %q: %w", p, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %q", ErrSymlinkInPath, p)
	}
	if o.deleteExtra {
		if err := o.deleteExtraIn(ctx, rel, d); err != nil {
			return err
		}
	}
	o.dirs.Store(rel, struct{}{})
	return nil
}

// deleteExtraIn removes target entries of directory rel that the snapshot
// lacks, or whose kind (directory or not) differs from the snapshot's.
// Excluded paths are left alone. Symlinks are removed, never followed.
func (o *guardedOutput) deleteExtraIn(ctx context.Context, rel string, d kopiafs.Directory) error {
	existing, err := os.ReadDir(o.full(rel))
	if err != nil {
		return fmt.Errorf("reading %q for delete-extra: %w", o.full(rel), err)
	}
	if len(existing) == 0 {
		return nil
	}
	entries, err := kopiafs.GetAllEntries(ctx, d)
	if err != nil {
		return fmt.Errorf("listing snapshot directory %q: %w", rel, err)
	}
	isDir := make(map[string]bool, len(entries))
	for _, e := range entries {
		isDir[e.Name()] = e.IsDir()
	}
	for _, x := range existing {
		childRel := path.Join(rel, x.Name())
		if o.excluded != nil && o.excluded(childRel) {
			continue
		}
		snapIsDir, inSnapshot := isDir[x.Name()]
		if inSnapshot && snapIsDir == x.IsDir() {
			continue
		}
		if err := os.RemoveAll(o.full(childRel)); err != nil {
			return fmt.Errorf("delete-extra: removing %q: %w", o.full(childRel), err)
		}
		o.deleted.Add(1)
	}
	return nil
}

func (o *guardedOutput) WriteDirEntry(ctx context.Context, rel string, de *snapshot.DirEntry, e kopiafs.Directory) error {
	return o.inner.WriteDirEntry(ctx, rel, de, e) //nolint:wrapcheck
}

func (o *guardedOutput) FinishDirectory(ctx context.Context, rel string, e kopiafs.Directory) error {
	if _, ok := o.dirs.Load(rel); !ok {
		return fmt.Errorf("internal error: finishing unverified directory %q", rel)
	}
	return o.inner.FinishDirectory(ctx, rel, e) //nolint:wrapcheck
}

func (o *guardedOutput) WriteFile(ctx context.Context, rel string, f kopiafs.File, cb restore.FileWriteProgress) error {
	if err := o.parentVerified(rel); err != nil {
		return err
	}
	if err := removeIfSymlink(o.full(rel)); err != nil {
		return err
	}
	return o.inner.WriteFile(ctx, rel, f, cb) //nolint:wrapcheck
}

func (o *guardedOutput) FileExists(ctx context.Context, rel string, f kopiafs.File) bool {
	if o.parentVerified(rel) != nil {
		return false
	}
	return o.inner.FileExists(ctx, rel, f)
}

func (o *guardedOutput) CreateSymlink(ctx context.Context, rel string, e kopiafs.Symlink) error {
	if err := o.parentVerified(rel); err != nil {
		return err
	}
	// Kopia refuses to replace a non-symlink; a restore makes the target
	// match the snapshot, so a regular file in the way goes (directories
	// stay: removing a tree needs delete-extra).
	p := o.full(rel)
	if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("replacing %q with a symlink: %w", p, err)
		}
	}
	return o.inner.CreateSymlink(ctx, rel, e) //nolint:wrapcheck
}

func (o *guardedOutput) SymlinkExists(ctx context.Context, rel string, e kopiafs.Symlink) bool {
	if o.parentVerified(rel) != nil {
		return false
	}
	return o.inner.SymlinkExists(ctx, rel, e)
}

func (o *guardedOutput) Close(ctx context.Context) error { return o.inner.Close(ctx) } //nolint:wrapcheck

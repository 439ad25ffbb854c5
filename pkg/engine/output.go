package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
	"golang.org/x/sys/unix"
)

// beneathOutput writes a snapshot tree under one directory, the restore
// root, without ever following a symlink (see beneath.go): every path kopia
// hands over is resolved from the root's descriptor, and leaves are made
// with *at calls relative to their parent's descriptor.
//
// Invariants:
//   - nothing is created, truncated, changed or removed outside the root,
//     even when a concurrent writer swaps a symlink in for a directory:
//     such a restore fails with ErrSymlinkInPath instead;
//   - the target ends like the snapshot: a symlink where the snapshot has a
//     directory or file is replaced (never followed), a regular file where
//     it has a symlink is replaced; a directory where it has a file or
//     symlink is an error unless delete-extra removed it first;
//   - file contents are written in place (truncate, write, set attributes),
//     so a resumed restore (kopia's incremental mode, FileExists) skips a
//     file only once its size and mtime match, i.e. after it was finished.
//
// It implements delete-extra itself, because kopia only does that for its
// own *FilesystemOutput type.
type beneathOutput struct {
	// root is the restore root's descriptor; for a single-file snapshot
	// entry it is the file's parent and fileName is the file's name.
	root     *os.File
	fileName string
	// sparse writes runs of zero blocks as holes, blockSize at a time.
	sparse    bool
	blockSize int

	deleteExtra bool
	// excluded reports whether a path relative to the restore root is
	// excluded; delete-extra leaves excluded paths alone.
	excluded func(rel string) bool

	deleted atomic.Int64

	// fetcher writes file contents chunk-parallel (chunked.go); nil copies
	// them through kopia's object reader.
	fetcher *chunkFetcher
	// wb pushes written data to disk as the restore goes (writeback.go);
	// nil writes without it.
	wb *writeback
}

var _ restore.Output = (*beneathOutput)(nil)

// maxTimeDeltaSameFile is how far a target file's mtime may be from the
// snapshot's for a resumed restore to consider it done (kopia's rule, for
// filesystems with coarse timestamps).
const maxTimeDeltaSameFile = 2 * time.Second

// newDirMode is the mode a directory is created with before
// FinishDirectory gives it the snapshot's (kopia does the same).
const newDirMode = 0o700

// newBeneathOutput opens the restore root target, creating the missing
// directories from boundary down to it without following symlinks. For a
// single file (isDir false) the root is target's parent.
func newBeneathOutput(boundary, target string, isDir bool) (*beneathOutput, error) {
	rootDir, fileName := target, ""
	if !isDir {
		rootDir, fileName = filepath.Dir(target), filepath.Base(target)
	}
	rel, err := filepath.Rel(boundary, rootDir)
	if err != nil || (rel != "." && !filepath.IsLocal(rel)) {
		return nil, fmt.Errorf("%w: %q is not under %q", ErrOutsideTarget, target, boundary)
	}
	if err := os.MkdirAll(boundary, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", boundary, err)
	}
	b, err := os.OpenFile(boundary, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening restore boundary %q: %w", boundary, err)
	}
	defer b.Close() //nolint:errcheck
	root, err := mkdirAllBeneath(b, filepath.ToSlash(rel), 0o755)
	if err != nil {
		return nil, err
	}
	o := &beneathOutput{root: root, fileName: fileName}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(root.Fd()), &sfs); err == nil && sfs.Bsize > 0 {
		o.blockSize = int(sfs.Bsize)
	}
	return o, nil
}

// display is the absolute path of rel, for messages.
func (o *beneathOutput) display(rel string) string {
	if rel == "" && o.fileName != "" {
		rel = o.fileName
	}
	return filepath.Join(o.root.Name(), filepath.FromSlash(rel))
}

// parentOf opens the directory holding rel and returns it with rel's name
// in it. rel "" is the root directory itself (name "."), or the single
// file.
func (o *beneathOutput) parentOf(rel string) (*os.File, string, error) {
	if rel == "" {
		if o.fileName != "" {
			d, err := dupDir(o.root)
			return d, o.fileName, err
		}
		d, err := dupDir(o.root)
		return d, ".", err
	}
	if err := checkLocalRel(rel); err != nil {
		return nil, "", err
	}
	dir, name := splitRel(rel)
	d, err := openDirBeneath(o.root, dir)
	return d, name, err
}

func (o *beneathOutput) Parallelizable() bool { return true }

func (o *beneathOutput) BeginDirectory(ctx context.Context, rel string, d kopiafs.Directory) error {
	if rel != "" {
		parent, name, err := o.parentOf(rel)
		if err != nil {
			return err
		}
		err = o.ensureDir(parent, name)
		parent.Close() //nolint:errcheck
		if err != nil {
			return err
		}
	}
	if o.deleteExtra {
		return o.deleteExtraIn(ctx, rel, d)
	}
	return nil
}

// ensureDir makes name in parent a real directory: created when missing,
// a symlink in its place replaced.
func (o *beneathOutput) ensureDir(parent *os.File, name string) error {
	p := filepath.Join(parent.Name(), name)
	err := unix.Mkdirat(int(parent.Fd()), name, newDirMode)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdir", Path: p, Err: err}
	}
	st, exists, err := lstatAt(parent, name)
	if err != nil || !exists {
		if err == nil {
			err = fmt.Errorf("%q vanished while being created", p)
		}
		return err
	}
	switch fileType(&st) {
	case unix.S_IFDIR:
		return nil
	case unix.S_IFLNK:
		if err := unix.Unlinkat(int(parent.Fd()), name, 0); err != nil {
			return &os.PathError{Op: "replace symlink", Path: p, Err: err}
		}
		if err := unix.Mkdirat(int(parent.Fd()), name, newDirMode); err != nil {
			return &os.PathError{Op: "mkdir", Path: p, Err: err}
		}
		return nil
	default:
		return fmt.Errorf("unable to create directory, %q already exists and is not a directory", p)
	}
}

// deleteExtraIn removes target entries of directory rel that the snapshot
// lacks, or whose kind (directory or not) differs from the snapshot's.
// Excluded paths are left alone. Symlinks are removed, never followed.
func (o *beneathOutput) deleteExtraIn(ctx context.Context, rel string, d kopiafs.Directory) error {
	dir, err := openDirBeneath(o.root, rel)
	if err != nil {
		return err
	}
	defer dir.Close() //nolint:errcheck
	existing, err := dir.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("reading %q for delete-extra: %w", dir.Name(), err)
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
		if err := removeAllAt(dir, x.Name()); err != nil {
			return fmt.Errorf("delete-extra: %w", err)
		}
		o.deleted.Add(1)
	}
	return nil
}

func (o *beneathOutput) WriteDirEntry(context.Context, string, *snapshot.DirEntry, kopiafs.Directory) error {
	return nil
}

func (o *beneathOutput) FinishDirectory(_ context.Context, rel string, e kopiafs.Directory) error {
	dir, err := openDirBeneath(o.root, rel)
	if err != nil {
		return err
	}
	defer dir.Close() //nolint:errcheck
	return setAttributesOpen(dir, e)
}

func (o *beneathOutput) WriteFile(ctx context.Context, rel string, f kopiafs.File, cb restore.FileWriteProgress) error {
	parent, name, err := o.parentOf(rel)
	if err != nil {
		return err
	}
	defer parent.Close() //nolint:errcheck
	p := filepath.Join(parent.Name(), name)
	// A symlink in the file's place goes: O_NOFOLLOW would refuse it, and
	// the snapshot says "file".
	if st, exists, err := lstatAt(parent, name); err != nil {
		return err
	} else if exists && fileType(&st) == unix.S_IFLNK {
		if err := unix.Unlinkat(int(parent.Fd()), name, 0); err != nil {
			return &os.PathError{Op: "replace symlink", Path: p, Err: err}
		}
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: p, Err: err}
	}
	out := os.NewFile(uintptr(fd), p)
	defer out.Close() //nolint:errcheck
	if err := o.writeContent(ctx, out, f, cb); err != nil {
		return err
	}
	if err := setAttributesOpen(out, f); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("closing %q: %w", p, err)
	}
	return nil
}

// copyBufferSize is the chunk a restore worker copies at a time.
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// writeContent sizes out (just truncated to zero) to f's size and writes
// f's contents into it, as holes where whole blocks are zero when sparse is
// on: chunk-parallel where the repository allows (chunked.go), else copied
// in order through kopia's object reader.
func (o *beneathOutput) writeContent(ctx context.Context, out *os.File, f kopiafs.File, cb restore.FileWriteProgress) error {
	if err := out.Truncate(f.Size()); err != nil {
		return fmt.Errorf("sizing %q: %w", out.Name(), err)
	}
	block := 0
	if o.sparse && o.blockSize > 0 {
		block = o.blockSize
	}
	if o.fetcher != nil {
		chunks, err := o.fetcher.chunks(ctx, f)
		switch {
		case err == nil:
			t := &chunkTarget{out: out, block: block, large: len(chunks) > 1, wb: o.wb, progress: cb}
			return o.fetcher.writeFile(ctx, t, chunks)
		case !errors.Is(err, errNoObjectID):
			return fmt.Errorf("restoring %q: %w", out.Name(), err)
		}
	}
	return o.copyContent(ctx, out, f, block, cb)
}

// copyContent writes f's contents to out (already sized) in order, as
// holes where whole blocks are zero when block > 0.
func (o *beneathOutput) copyContent(ctx context.Context, out *os.File, f kopiafs.File, block int, cb restore.FileWriteProgress) error {
	r, err := f.Open(ctx)
	if err != nil {
		return fmt.Errorf("opening snapshot file for %q: %w", out.Name(), err)
	}
	defer r.Close() //nolint:errcheck
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	if block > len(buf) {
		block = 0
	}
	if block > 0 {
		buf = buf[:len(buf)/block*block]
	}
	// Start writing a large file's pages back every rangeWritebackBytes
	// instead of leaving them all to the flushes (writeback.go).
	var off, synced int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := writeChunk(out, buf[:n], block); err != nil {
				return fmt.Errorf("writing %q: %w", out.Name(), err)
			}
			off += int64(n)
			if off-synced >= rangeWritebackBytes {
				startRangeWriteback(int(out.Fd()), synced, off-synced)
				synced = off
			}
			if cb != nil {
				cb(int64(n))
			}
			if err := o.wb.wrote(int64(n)); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading snapshot data for %q: %w", out.Name(), rerr)
		}
	}
}

// writeChunk writes b at out's offset; with block > 0, whole zero blocks
// are skipped (the file was truncated to its size, so they read as zeros).
func writeChunk(out *os.File, b []byte, block int) error {
	if block == 0 {
		_, err := out.Write(b)
		return err //nolint:wrapcheck
	}
	for len(b) > 0 {
		n := min(block, len(b))
		if isZero(b[:n]) {
			if _, err := out.Seek(int64(n), io.SeekCurrent); err != nil {
				return err //nolint:wrapcheck
			}
		} else if _, err := out.Write(b[:n]); err != nil {
			return err //nolint:wrapcheck
		}
		b = b[n:]
	}
	return nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (o *beneathOutput) FileExists(_ context.Context, rel string, e kopiafs.File) bool {
	parent, name, err := o.parentOf(rel)
	if err != nil {
		return false
	}
	defer parent.Close() //nolint:errcheck
	st, exists, err := lstatAt(parent, name)
	return err == nil && exists && sameFile(&st, e)
}

func (o *beneathOutput) CreateSymlink(ctx context.Context, rel string, e kopiafs.Symlink) error {
	linkTarget, err := e.Readlink(ctx)
	if err != nil {
		return fmt.Errorf("reading link target of %q: %w", rel, err)
	}
	parent, name, err := o.parentOf(rel)
	if err != nil {
		return err
	}
	defer parent.Close() //nolint:errcheck
	p := filepath.Join(parent.Name(), name)
	st, exists, err := lstatAt(parent, name)
	if err != nil {
		return err
	}
	if exists {
		// A symlink or a regular file in the way goes (the snapshot says
		// "symlink"); a directory stays: removing a tree needs delete-extra.
		if fileType(&st) == unix.S_IFDIR {
			return fmt.Errorf("unable to create symlink, %q already exists and is a directory", p)
		}
		if err := unix.Unlinkat(int(parent.Fd()), name, 0); err != nil {
			return &os.PathError{Op: "replace with symlink", Path: p, Err: err}
		}
	}
	if err := unix.Symlinkat(linkTarget, int(parent.Fd()), name); err != nil {
		return &os.PathError{Op: "symlink", Path: p, Err: err}
	}
	return setSymlinkAttributes(parent, name, e)
}

func (o *beneathOutput) SymlinkExists(_ context.Context, rel string, _ kopiafs.Symlink) bool {
	parent, name, err := o.parentOf(rel)
	if err != nil {
		return false
	}
	defer parent.Close() //nolint:errcheck
	st, exists, err := lstatAt(parent, name)
	return err == nil && exists && fileType(&st) == unix.S_IFLNK
}

func (o *beneathOutput) Close(context.Context) error { return nil }

// release closes the root descriptor once the restore is over.
func (o *beneathOutput) release() { o.root.Close() } //nolint:errcheck

// setAttributesOpen gives an open file or directory e's owner, permission
// bits and mtime, changing only what differs. Without the privilege to
// change them (a restore as non-root) the file keeps what it has, as with
// kopia's IgnorePermissionErrors.
func setAttributesOpen(f *os.File, e kopiafs.Entry) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	if owner := e.Owner(); owner.UserID != st.Uid || owner.GroupID != st.Gid {
		if err := ignorePermission(unix.Fchown(int(f.Fd()), int(owner.UserID), int(owner.GroupID))); err != nil {
			return &os.PathError{Op: "chown", Path: f.Name(), Err: err}
		}
	}
	if want := e.Mode() & kopiafs.ModBits; want != statPerm(&st) {
		if err := ignorePermission(unix.Fchmod(int(f.Fd()), unixPerm(want))); err != nil {
			return &os.PathError{Op: "chmod", Path: f.Name(), Err: err}
		}
	}
	if !statMTime(&st).Equal(e.ModTime()) {
		if err := ignorePermission(futimens(f, e.ModTime())); err != nil {
			return fmt.Errorf("setting the mtime of %q: %w", f.Name(), err)
		}
	}
	return nil
}

// setSymlinkAttributes gives the symlink name in parent e's owner and mtime
// (Linux symlinks have no permission bits of their own).
func setSymlinkAttributes(parent *os.File, name string, e kopiafs.Entry) error {
	p := filepath.Join(parent.Name(), name)
	owner := e.Owner()
	if err := ignorePermission(unix.Fchownat(int(parent.Fd()), name, int(owner.UserID), int(owner.GroupID), unix.AT_SYMLINK_NOFOLLOW)); err != nil {
		return &os.PathError{Op: "lchown", Path: p, Err: err}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(e.ModTime().UnixNano()), unix.NsecToTimespec(e.ModTime().UnixNano())}
	if err := ignorePermission(unix.UtimesNanoAt(int(parent.Fd()), name, ts, unix.AT_SYMLINK_NOFOLLOW)); err != nil {
		return &os.PathError{Op: "lutimes", Path: p, Err: err}
	}
	return nil
}

// ignorePermission drops EPERM and EACCES: attributes a non-root restore may
// not set are left as they are.
func ignorePermission(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	return err
}

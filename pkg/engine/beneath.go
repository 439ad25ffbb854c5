package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Path resolution beneath a directory file descriptor.
//
// The restore never resolves a path inside the target by name from "/":
// every directory is reached from the restore root's file descriptor with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), and every leaf is created,
// changed or removed relative to its parent's descriptor with *at calls
// that do not follow a final symlink. A symlink swapped in for a directory
// by a concurrent writer in the target therefore makes the restore fail
// with ErrSymlinkInPath; it can never redirect a write out of the target.
//
// Kernels without openat2 (before 5.6) get the same guarantee by walking
// one component at a time with openat(O_NOFOLLOW|O_DIRECTORY).

// openat2Missing records that the kernel lacks openat2 (ENOSYS), so the
// component walk is used from then on.
var openat2Missing atomic.Bool

// resolveBeneath are the openat2 rules for every directory lookup.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openDirBeneath opens the directory rel (slash-separated, "" for dir
// itself) beneath dir without following any symlink.
func openDirBeneath(dir *os.File, rel string) (*os.File, error) {
	if rel == "" || rel == "." {
		return dupDir(dir)
	}
	if err := checkLocalRel(rel); err != nil {
		return nil, err
	}
	display := filepath.Join(dir.Name(), filepath.FromSlash(rel))
	if !openat2Missing.Load() {
		// RESOLVE_NO_SYMLINKS refuses a symlink anywhere, the last
		// component included, with ELOOP.
		const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
		fd, err := unix.Openat2(int(dir.Fd()), rel, &unix.OpenHow{Flags: flags, Resolve: resolveBeneath})
		if err == nil {
			return os.NewFile(uintptr(fd), display), nil
		}
		if !errors.Is(err, unix.ENOSYS) {
			return nil, beneathError(display, err)
		}
		openat2Missing.Store(true)
	}
	return walkBeneath(dir, rel, false, 0)
}

// openChildDir opens the directory name in dir without following a
// symlink. O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR, so that
// case is told apart with an lstat.
func openChildDir(dir *os.File, name, display string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err == nil {
		return os.NewFile(uintptr(fd), display), nil
	}
	if errors.Is(err, unix.ENOTDIR) {
		if st, ok, _ := lstatAt(dir, name); ok && fileType(&st) == unix.S_IFLNK {
			err = unix.ELOOP
		}
	}
	return nil, beneathError(display, err)
}

// dupDir is an independent descriptor of dir, for callers that close what
// they get.
func dupDir(dir *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(dir.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating descriptor of %q: %w", dir.Name(), err)
	}
	return os.NewFile(uintptr(fd), dir.Name()), nil
}

// beneathError names why a lookup beneath the restore root failed.
func beneathError(display string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: a component of %q is a symlink", ErrSymlinkInPath, display)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: %q resolves outside the restore root", ErrOutsideTarget, display)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("restore path %q: a component exists and is not a directory", display)
	}
	return &os.PathError{Op: "open", Path: display, Err: err}
}

// checkLocalRel refuses a relative path that could leave its root: the
// resolution rules above would refuse it too, but this names the entry.
func checkLocalRel(rel string) error {
	if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.ContainsRune(rel, 0) {
		return fmt.Errorf("%w: %q", ErrUnsafeEntryName, rel)
	}
	return nil
}

// mkdirAllBeneath creates rel (slash-separated) beneath dir one component
// at a time, refusing symlinks on the way, and returns the directory.
func mkdirAllBeneath(dir *os.File, rel string, mode uint32) (*os.File, error) {
	if rel == "" || rel == "." {
		return dupDir(dir)
	}
	if err := checkLocalRel(rel); err != nil {
		return nil, err
	}
	return walkBeneath(dir, rel, true, mode)
}

// walkBeneath opens the directory rel beneath dir one component at a time
// with O_NOFOLLOW, creating missing components with mode when create is
// set.
func walkBeneath(dir *os.File, rel string, create bool, mode uint32) (*os.File, error) {
	cur, err := dupDir(dir)
	if err != nil {
		return nil, err
	}
	display := dir.Name()
	for _, name := range strings.Split(rel, "/") {
		display = filepath.Join(display, name)
		if create {
			if err := unix.Mkdirat(int(cur.Fd()), name, mode); err != nil && !errors.Is(err, unix.EEXIST) {
				cur.Close() //nolint:errcheck
				return nil, &os.PathError{Op: "mkdir", Path: display, Err: err}
			}
		}
		next, err := openChildDir(cur, name, display)
		cur.Close() //nolint:errcheck
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// splitRel splits a slash-separated relative path into its parent ("" for
// the root) and its last element.
func splitRel(rel string) (parent, name string) {
	parent, name = path.Split(rel)
	return strings.TrimSuffix(parent, "/"), name
}

// lstatAt is fstatat(AT_SYMLINK_NOFOLLOW) of name in dir; ok is false when
// name does not exist.
func lstatAt(dir *os.File, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	if err != nil {
		return st, false, &os.PathError{Op: "lstat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return st, true, nil
}

// fileType is the S_IFMT part of a stat mode.
func fileType(st *unix.Stat_t) uint32 { return st.Mode & unix.S_IFMT }

// removeAllAt removes name in dir and, when it is a directory, everything
// under it, never following a symlink.
func removeAllAt(dir *os.File, name string) error {
	err := unix.Unlinkat(int(dir.Fd()), name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return &os.PathError{Op: "unlink", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	child, err := openDirBeneath(dir, name)
	if err != nil {
		return err
	}
	names, err := child.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(child, n); err != nil {
				break
			}
		}
	}
	child.Close() //nolint:errcheck
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(int(dir.Fd()), name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "rmdir", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return nil
}

// futimens sets the access and modification times of an open file to t
// (utimensat with a NULL path, which x/sys/unix does not wrap).
func futimens(f *os.File, t time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, f.Fd(), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "futimens", Path: f.Name(), Err: errno}
	}
	return nil
}

// statMTime is the modification time in st.
func statMTime(st *unix.Stat_t) time.Time {
	return time.Unix(st.Mtim.Sec, st.Mtim.Nsec) //nolint:unconvert
}

// statPerm is st's permission bits (with setuid, setgid and sticky) as an
// fs.FileMode, comparable with a kopia entry's Mode()&fs.ModePerm|special.
func statPerm(st *unix.Stat_t) fs.FileMode {
	m := fs.FileMode(st.Mode & 0o777)
	if st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// unixPerm converts an fs.FileMode's permission and special bits to the
// mode argument of chmod.
func unixPerm(m fs.FileMode) uint32 {
	u := uint32(m & fs.ModePerm)
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

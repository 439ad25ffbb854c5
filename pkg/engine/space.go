package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/internal/units"
)

// The space check: before a restore writes anything, every filesystem it
// writes to must have room for the bytes it will add there (preflight), so
// a restore that cannot fit fails at once with "needs X, has Y" instead of
// half-way with ENOSPC. Sparse restores are checked as if dense: the
// snapshot does not record how much of a file is zeros.

// msgNeedsSpace is the space check's failure: the destination, the bytes
// needed and the bytes free.
const msgNeedsSpace = "%s needs %s, has %s free"

// volumes groups restore roots by the filesystem they are written to.
type volumes struct {
	list  []VolumeSpace
	index []int // index[i] is root i's entry in list
}

func (v *volumes) at(root int) *VolumeSpace { return &v.list[v.index[root]] }

// allFit reports whether every filesystem has need bytes free.
func allFit(v *volumes, need int64) bool {
	for _, s := range v.list {
		if s.Free < need {
			return false
		}
	}
	return true
}

// check fails with ErrNoSpaceLeft, naming the first filesystem that lacks room.
func (v *volumes) check() error {
	for _, s := range v.list {
		if s.Needed > s.Free {
			return fmt.Errorf("%w: "+msgNeedsSpace, ErrNoSpaceLeft, s.Path, units.FormatBytes(s.Needed), units.FormatBytes(s.Free))
		}
	}
	return nil
}

// rootVolumes finds the filesystem of each root's destination: that of
// its nearest existing ancestor (it is created there).
func rootVolumes(roots []restoreRoot) (*volumes, error) {
	v := &volumes{}
	byDev := map[uint64]int{}
	for _, r := range roots {
		dir := r.target
		if !r.entry.IsDir() {
			dir = filepath.Dir(dir)
		}
		var st unix.Stat_t
		var sfs unix.Statfs_t
		for {
			err := unix.Stat(dir, &st)
			if err == nil {
				err = unix.Statfs(dir, &sfs)
				if err != nil {
					return nil, &os.PathError{Op: "statfs", Path: dir, Err: err}
				}
				break
			}
			if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
				return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
			}
			dir = parent
		}
		i, ok := byDev[st.Dev]
		if !ok {
			i = len(v.list)
			byDev[st.Dev] = i
			v.list = append(v.list, VolumeSpace{Path: r.target, Free: int64(sfs.Bavail) * sfs.Bsize})
		}
		v.index = append(v.index, i)
	}
	return v, nil
}

// Package treetest writes a sample directory tree for restore tests and
// checks that a restored tree matches its source exactly: modes, contents,
// symlink targets and the mtimes of files, symlinks and directories alike
// (internal/fstree with every mtime compared), because restoring a
// directory's own mtime, not the newest one in its subtree, is part of what
// the restore engine guarantees. It is imported by tests only (pkg/engine's
// and pkg/executor's).
package treetest

import (
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/internal/fstree"
)

// FileMTime is the mtime Write gives files and symlinks; directories get
// the older DirMTime, so that a directory's own mtime differs from the
// newest mtime in its subtree (which kopia's directory reader reports in
// its place).
var (
	FileMTime = time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	DirMTime  = time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC)
)

// WriteFiles is how many regular files Write creates.
const WriteFiles = 8

// Write builds a small tree in dir with WriteFiles files of several sizes
// (the same contents for the same seed) and modes, a symlink, a dangling symlink, an
// empty dir and nested dirs, all with fixed mtimes.
func Write(t testing.TB, dir string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	files := map[string]int{
		"a.txt":                 100,
		"big.bin":               3 << 20,
		"sub/b.dat":             70000,
		"sub/deeper/c.log":      5000,
		"sub/deeper/zero.bin":   0,
		"other/d.txt":           12345,
		"other/skip/e.tmp":      999,
		"other/skip/inner/f.md": 10,
	}
	// Sorted: the same seed gives the same contents.
	for _, name := range slices.Sorted(maps.Keys(files)) {
		size := files[name]
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		must(t, os.WriteFile(p, data, 0o640))
	}
	must(t, os.Chmod(filepath.Join(dir, "a.txt"), 0o600))
	must(t, os.Chmod(filepath.Join(dir, "sub/deeper/c.log"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o750))
	must(t, os.Symlink("sub/b.dat", filepath.Join(dir, "link")))
	must(t, os.Symlink("/nonexistent/target", filepath.Join(dir, "dangling")))
	// Fix mtimes: files and symlinks (the link itself) first, then
	// directories bottom-up, after all their children exist, so their
	// times stick.
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
			return err
		case d.Type()&fs.ModeSymlink != 0:
			tv := unix.NsecToTimeval(FileMTime.UnixNano())
			return unix.Lutimes(p, []unix.Timeval{tv, tv})
		default:
			return os.Chtimes(p, FileMTime, FileMTime)
		}
	}))
	var dirs []string
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		must(t, os.Chtimes(dirs[i], DirMTime, DirMTime))
	}
}

// Compare fails t unless got holds exactly want's entries with equal
// mode, content, link targets and mtimes (of directories, files and
// symlinks themselves), and the roots have the same mode and mtime.
func Compare(t testing.TB, want, got string) {
	t.Helper()
	w, g := Scan(t, want), Scan(t, got)
	for _, d := range fstree.Diff(w, g, fstree.Options{AllMTimes: true}) {
		t.Errorf("after restore: %s", d)
	}
	wr, gr := rootOf(t, want), rootOf(t, got)
	if wr.Mode() != gr.Mode() || !wr.ModTime().Equal(gr.ModTime()) {
		t.Errorf("root: mode %v mtime %v, want %v %v", gr.Mode(), gr.ModTime(), wr.Mode(), wr.ModTime())
	}
}

// Scan records the tree under dir (fstree.Scan), failing t if it cannot.
func Scan(t testing.TB, dir string) fstree.Tree {
	t.Helper()
	tree, err := fstree.Scan(dir)
	must(t, err)
	return tree
}

func rootOf(t testing.TB, dir string) fs.FileInfo {
	t.Helper()
	st, err := os.Lstat(dir)
	must(t, err)
	return st
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Package treetest writes a sample directory tree for restore tests and
// checks that a restored tree matches its source exactly: modes, contents,
// symlink targets and the mtimes of files, symlinks and directories alike.
// It is imported by tests only (pkg/engine's and pkg/executor's).
//
// Unlike internal/fstree, which hashes large trees and ignores directory
// and symlink times, it compares every timestamp, because restoring a
// directory's own mtime (not the newest one in its subtree) is part of
// what the restore engine guarantees.
package treetest

import (
	"bytes"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// Entry is what Compare checks for one path.
type Entry struct {
	// Mode is the lstat(2) mode, type bits included.
	Mode    fs.FileMode
	MTime   time.Time
	Content []byte // regular files
	Link    string // symlinks
}

// Read records every path under dir, dir itself included as ".", by its
// path relative to dir.
func Read(t testing.TB, dir string) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := Entry{Mode: st.Mode()}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			e.MTime = st.ModTime()
			e.Link, err = os.Readlink(p)
		case st.Mode().IsRegular():
			e.MTime = st.ModTime()
			e.Content, err = os.ReadFile(p)
		case st.IsDir():
			e.MTime = st.ModTime()
		}
		out[rel] = e
		return err
	}))
	return out
}

// Compare fails t unless got holds exactly want's entries, the root
// included, with equal mode, mtime (of directories, files and symlinks
// themselves), content and link targets.
func Compare(t testing.TB, want, got string) {
	t.Helper()
	w, g := Read(t, want), Read(t, got)
	for rel, we := range w {
		ge, ok := g[rel]
		if !ok {
			t.Errorf("%s: missing after restore", rel)
			continue
		}
		if we.Mode != ge.Mode {
			t.Errorf("%s: mode %v, want %v", rel, ge.Mode, we.Mode)
		}
		if !we.MTime.Equal(ge.MTime) {
			t.Errorf("%s: mtime %v, want %v", rel, ge.MTime, we.MTime)
		}
		if !bytes.Equal(we.Content, ge.Content) {
			t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(ge.Content), len(we.Content))
		}
		if we.Link != ge.Link {
			t.Errorf("%s: symlink to %q, want %q", rel, ge.Link, we.Link)
		}
	}
	for rel := range g {
		if _, ok := w[rel]; !ok {
			t.Errorf("%s: unexpected after restore", rel)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

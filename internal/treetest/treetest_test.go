package treetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/internal/fstree"
)

func TestWriteFixesModesAndTimes(t *testing.T) {
	dir := t.TempDir()
	Write(t, dir, 1)
	tree := Scan(t, dir)
	var files int
	for rel, e := range tree {
		switch e.Kind {
		case fstree.File:
			files++
			if !e.MTime.Equal(FileMTime) {
				t.Errorf("%s: mtime %v, want %v", rel, e.MTime, FileMTime)
			}
		case fstree.Dir:
			if !e.MTime.Equal(DirMTime) {
				t.Errorf("%s: mtime %v, want %v", rel, e.MTime, DirMTime)
			}
		}
	}
	if files != WriteFiles {
		t.Errorf("%d regular files, want %d", files, WriteFiles)
	}
	if got := tree["link"]; got.Target != "sub/b.dat" || !got.MTime.Equal(FileMTime) {
		t.Errorf("link: %+v, want a symlink to sub/b.dat with mtime %v", got, FileMTime)
	}
	if got := tree["a.txt"].Mode; got != 0o600 {
		t.Errorf("a.txt: mode %v, want 0600", got)
	}
}

// errorRecorder is a testing.TB whose Errorf records instead of failing.
type errorRecorder struct {
	testing.TB
	errors []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   int // differences reported
	}{
		{name: "identical trees", change: func(*testing.T, string) {}},
		{name: "directory mtime differs", want: 1, change: func(t *testing.T, dir string) {
			if err := os.Chtimes(filepath.Join(dir, "sub"), FileMTime, FileMTime); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink mtime differs", want: 1, change: func(t *testing.T, dir string) {
			tv := unix.NsecToTimeval(DirMTime.UnixNano())
			if err := unix.Lutimes(filepath.Join(dir, "link"), []unix.Timeval{tv, tv}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "root mode differs", want: 1, change: func(t *testing.T, dir string) {
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file content and an extra file", want: 2, change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "sub/deeper/zero.bin")
			if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, FileMTime, FileMTime); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Dir(p), DirMTime, DirMTime); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "extra"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(dir, DirMTime, DirMTime); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := t.TempDir(), t.TempDir()
			Write(t, want, 3)
			Write(t, got, 3)
			tc.change(t, got)
			r := &errorRecorder{TB: t}
			Compare(r, want, got)
			if len(r.errors) != tc.want {
				t.Errorf("Compare reported %d differences, want %d: %q", len(r.errors), tc.want, r.errors)
			}
		})
	}
}

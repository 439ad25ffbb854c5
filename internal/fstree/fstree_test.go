package fstree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func write(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "a", "empty"), 0o750))
	must(os.WriteFile(filepath.Join(root, "a", "f"), []byte("hello"), 0o640))
	must(os.Symlink("a/f", filepath.Join(root, "link")))
	at := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	must(os.Chtimes(filepath.Join(root, "a", "f"), at, at))
}

func TestDiff(t *testing.T) {
	want, got := t.TempDir(), t.TempDir()
	write(t, want)
	write(t, got)
	scan := func(root string) Tree {
		tree, err := Scan(root)
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	if d := Diff(scan(want), scan(got), Options{}); len(d) != 0 {
		t.Fatalf("identical trees differ: %v", d)
	}
	if e := scan(want)["a/f"]; e.Kind != File || e.Size != 5 || e.SHA256[:8] != "2cf24dba" || e.Mode != 0o640 {
		t.Fatalf("a/f = %+v", e)
	}
	if files, bytes := scan(want).Stats(); files != 1 || bytes != 5 {
		t.Fatalf("Stats() = %d files, %d bytes; want 1, 5", files, bytes)
	}

	// Each kind of difference is reported once, naming the path.
	if err := os.WriteFile(filepath.Join(got, "a", "f"), []byte("HELLO"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(got, "a", "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(got, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(got, "extra"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := Diff(scan(want), scan(got), Options{})
	joined := strings.Join(d, "\n")
	for _, frag := range []string{"a/empty: got dir -rwx------", "a/f: got file", "extra extra", "missing link"} {
		if !strings.Contains(joined, frag) {
			t.Errorf("diff lacks %q:\n%s", frag, joined)
		}
	}
	if len(d) != 4 {
		t.Errorf("%d differences, want 4:\n%s", len(d), joined)
	}
	// Ignoring modes and mtimes still sees the content change.
	if d := Diff(scan(want), scan(got), Options{IgnoreMode: true, IgnoreMTime: true}); len(d) != 3 {
		t.Errorf("with modes and mtimes ignored: %v, want 3 differences", d)
	}

	// Directory and symlink mtimes count only when asked for.
	dirWant, dirGot := t.TempDir(), t.TempDir()
	write(t, dirWant)
	write(t, dirGot)
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	setTimes := func(root string, at time.Time) {
		t.Helper()
		tv := unix.NsecToTimeval(at.UnixNano())
		if err := unix.Lutimes(filepath.Join(root, "link"), []unix.Timeval{tv, tv}); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{filepath.Join(root, "a", "empty"), filepath.Join(root, "a"), root} {
			if err := os.Chtimes(dir, at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	setTimes(dirWant, old)
	setTimes(dirGot, old)
	if d := Diff(scan(dirWant), scan(dirGot), Options{AllMTimes: true}); len(d) != 0 {
		t.Errorf("identical trees differ with AllMTimes: %v", d)
	}
	setTimes(dirGot, old.Add(time.Hour))
	if err := os.Chtimes(filepath.Join(dirGot, "a"), old, old); err != nil {
		t.Fatal(err)
	}
	if d := Diff(scan(dirWant), scan(dirGot), Options{}); len(d) != 0 {
		t.Errorf("directory and symlink mtimes compared by default: %v", d)
	}
	d = Diff(scan(dirWant), scan(dirGot), Options{AllMTimes: true})
	joined = strings.Join(d, "\n")
	if len(d) != 2 || !strings.Contains(joined, "a/empty: got dir") || !strings.Contains(joined, "link: got symlink") {
		t.Errorf("with AllMTimes: %v, want a/empty and link", d)
	}
}

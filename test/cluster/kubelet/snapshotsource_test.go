package kubelet

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// copyTree copies files with their bytes and modes, directories and
// symbolic links, and refuses to write into an existing destination file.
func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"a.txt":         {"alpha", 0o644},
		"sub/b.bin":     {"\x00\x01bravo", 0o600},
		"sub/deep/c.sh": {"#!/bin/sh\n", 0o755},
	}
	for name, f := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2023, 11, 5, 8, 0, 0, 987654321, time.UTC)
	for _, p := range []string{"sub/b.bin", "sub/deep", "sub"} {
		if err := os.Chtimes(filepath.Join(src, p), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != f.data {
			t.Errorf("%s = %q, %v; want %q", name, got, err, f.data)
		}
		if st, err := os.Stat(filepath.Join(dst, name)); err != nil || st.Mode().Perm() != f.mode {
			t.Errorf("%s mode = %v, %v; want %v", name, st.Mode().Perm(), err, f.mode)
		}
	}
	for _, p := range []string{"sub/b.bin", "sub/deep", "sub"} {
		if st, err := os.Stat(filepath.Join(dst, p)); err != nil || !st.ModTime().Equal(mtime) {
			t.Errorf("%s mtime = %v, %v; want %v", p, st.ModTime(), err, mtime)
		}
	}
	if link, err := os.Readlink(filepath.Join(dst, "link")); err != nil || link != "a.txt" {
		t.Errorf("link = %q, %v", link, err)
	}
	if err := copyFile(filepath.Join(src, "a.txt"), filepath.Join(dst, "a.txt"), 0o644); err == nil {
		t.Error("copyFile overwrote an existing file")
	}
}

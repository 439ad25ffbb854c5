package executor

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restore-controller/restore/internal/fstree"
)

// treeTime is the mtime of every file writeTree creates, so a restore that
// loses mtimes (which resume depends on) fails the comparison.
var treeTime = time.Date(2023, 11, 5, 8, 0, 0, 987654321, time.UTC)

// writeTree creates a source tree that exercises what a restore must keep:
// a file spanning many kopia chunks, small and empty files, nested and
// empty directories, a relative symlink, unusual names and permission bits.
// bigSize sets the large file's size.
func writeTree(t *testing.T, dir string, bigSize int64) {
	t.Helper()
	rnd := func(seed uint64, n int64) []byte {
		var key [32]byte
		key[0], key[1] = byte(seed), byte(seed>>8)
		b := make([]byte, n)
		_, _ = io.ReadFull(rand.NewChaCha8(key), b)
		return b
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"big.bin", rnd(1, bigSize), 0o644},
		{"empty", nil, 0o644},
		{"text/readme.txt", []byte(strings.Repeat("restore me byte for byte\n", 1000)), 0o644},
		{"text/secret.key", rnd(2, 4096), 0o600},
		{"bin/tool.sh", []byte("#!/bin/sh\necho restored\n"), 0o755},
		{"deep/a/b/c/d/leaf.dat", rnd(3, 70_000), 0o640},
		{"names/with space & ünïcode.txt", []byte("name survives"), 0o644},
	}
	for i := 0; i < 40; i++ {
		files = append(files, struct {
			path string
			data []byte
			mode os.FileMode
		}{fmt.Sprintf("many/f%02d", i), rnd(uint64(100+i), int64(100+i*997)), 0o644})
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, treeTime, treeTime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "emptydir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../text/readme.txt", filepath.Join(dir, "bin", "readme-link")); err != nil {
		t.Fatal(err)
	}
}

// readTree records root's tree, failing the test if it cannot.
func readTree(t *testing.T, root string) fstree.Tree {
	t.Helper()
	tree, err := fstree.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// sameTree fails the test unless got holds exactly want's paths with the
// same types, bytes, permission bits, file mtimes and link targets.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	if len(w) == 0 {
		t.Fatalf("source tree %s is empty: nothing was compared", want)
	}
	if diffs := fstree.Diff(w, g, fstree.Options{}); len(diffs) > 0 {
		t.Fatalf("restored tree %s differs from %s:\n  %s", got, want, strings.Join(diffs, "\n  "))
	}
}

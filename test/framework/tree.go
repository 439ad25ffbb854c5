package framework

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

// WriteTree writes a small tree to snapshot and restore into dir: each file
// of sizes (path relative to dir, size in bytes) with bytes that differ per
// seed, the empty directory "empty", and the symlink "config" to
// "app/config.yaml".
func WriteTree(t testing.TB, dir string, seed int, sizes map[string]int) {
	t.Helper()
	for rel, size := range sizes {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte((i*31 + seed*7 + len(rel)) % 251)
		}
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app/config.yaml", filepath.Join(dir, "config")); err != nil {
		t.Fatal(err)
	}
}

// edgeCaseTreeTime is the mtime of every file WriteEdgeCaseTree creates, so
// a restore that loses mtimes (which resume depends on) fails the
// comparison.
var edgeCaseTreeTime = time.Date(2023, 11, 5, 8, 0, 0, 987654321, time.UTC)

// WriteEdgeCaseTree writes into dir a tree that exercises what a restore
// must keep: a file of bigSize bytes spanning many kopia chunks, small and
// empty files, nested and empty directories, a relative symlink, unusual
// names, permission bits and sub-second mtimes. It holds "deep/a" (a
// subtree) and, at its top, "big.bin", "text" and "many".
func WriteEdgeCaseTree(t testing.TB, dir string, bigSize int64) {
	t.Helper()
	rnd := func(seed uint64, n int64) []byte {
		var key [32]byte
		key[0], key[1] = byte(seed), byte(seed>>8)
		b := make([]byte, n)
		_, _ = io.ReadFull(rand.NewChaCha8(key), b)
		return b
	}
	type file struct {
		path string
		data []byte
		mode os.FileMode
	}
	files := []file{
		{"big.bin", rnd(1, bigSize), 0o644},
		{"empty", nil, 0o644},
		{"text/readme.txt", []byte(strings.Repeat("restore me byte for byte\n", 1000)), 0o644},
		{"text/secret.key", rnd(2, 4096), 0o600},
		{"bin/tool.sh", []byte("#!/bin/sh\necho restored\n"), 0o755},
		{"deep/a/b/c/d/leaf.dat", rnd(3, 70_000), 0o640},
		{"names/with space & ünïcode.txt", []byte("name survives"), 0o644},
	}
	for i := 0; i < 40; i++ {
		files = append(files, file{fmt.Sprintf("many/f%02d", i), rnd(uint64(100+i), int64(100+i*997)), 0o644})
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode is masked by the umask; the tree needs it exact.
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, edgeCaseTreeTime, edgeCaseTreeTime); err != nil {
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

// ScanTree records dir's tree (fstree.Scan), failing the test if it cannot.
func ScanTree(t testing.TB, dir string) fstree.Tree {
	t.Helper()
	tree, err := fstree.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// ExpectSameTree fails the test unless the directory gotDir, which what
// names, holds exactly the tree want: the same paths with the same types,
// bytes, permission bits, file mtimes and link targets (fstree.Diff). An
// empty want fails too: the comparison would prove nothing.
func ExpectSameTree(t testing.TB, what string, want fstree.Tree, gotDir string) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the expected tree is empty, nothing was compared", what)
		return
	}
	if d := fstree.Diff(want, ScanTree(t, gotDir), fstree.Options{}); len(d) > 0 {
		t.Errorf("%s (%s) differs from the source:\n  %s", what, gotDir, strings.Join(d, "\n  "))
	}
}

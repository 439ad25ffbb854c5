package framework

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/restore-controller/restore/internal/fstree"
)

// WriteTree writes a tree to snapshot and restore into dir: each file of
// sizes (path relative to dir, size in bytes) with bytes that differ per
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

// ScanTree records dir's tree (fstree.Scan), failing the test if it cannot.
func ScanTree(t testing.TB, dir string) fstree.Tree {
	t.Helper()
	tree, err := fstree.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

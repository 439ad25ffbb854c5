package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The dump directory is private and lands under --scratch-dir even when
// that directory does not exist yet (a fresh demo or CI run).
func TestPrivateDumpDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scratch func(t *testing.T) string
	}{
		{name: "existing scratch dir", scratch: func(t *testing.T) string { return t.TempDir() }},
		{name: "missing scratch dir", scratch: func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "scratch") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scratch := tc.scratch(t)
			dir, err := privateDumpDir(scratch, "cluster-manifests-")
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(dir) != scratch {
				t.Errorf("dump dir %s is not under the scratch dir %s", dir, scratch)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Errorf("dump dir %s: mode %v, want a directory of mode 0700", dir, fi.Mode())
			}
		})
	}
}

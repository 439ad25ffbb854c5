package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
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

// treeEntry is what sameTree compares per path.
type treeEntry struct {
	kind   string
	mode   fs.FileMode
	size   int64
	mtime  int64 // unix nanoseconds; regular files
	sum    string
	target string
}

func (e treeEntry) String() string {
	switch e.kind {
	case "file":
		return fmt.Sprintf("file %v size %d mtime %s sha256 %.12s", e.mode, e.size, time.Unix(0, e.mtime).UTC().Format(time.RFC3339Nano), e.sum)
	case "symlink":
		return "symlink -> " + e.target
	default:
		return fmt.Sprintf("dir %v", e.mode)
	}
}

func readTree(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	m := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			m[rel] = treeEntry{kind: "dir", mode: info.Mode().Perm()}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = treeEntry{kind: "symlink", target: target}
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			m[rel] = treeEntry{kind: "file", mode: info.Mode().Perm(), size: info.Size(),
				mtime: info.ModTime().UnixNano(), sum: hex.EncodeToString(h.Sum(nil))}
		default:
			return fmt.Errorf("%s: unexpected type %v", p, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameTree fails the test unless got holds exactly want's paths with the
// same types, bytes, permission bits, file mtimes and link targets.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	if len(w) == 0 {
		t.Fatalf("source tree %s is empty: nothing was compared", want)
	}
	var diffs []string
	for p, we := range w {
		ge, ok := g[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s (%s)", p, we))
		case ge != we:
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", p, ge, we))
		}
	}
	for p, ge := range g {
		if _, ok := w[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %s (%s)", p, ge))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Fatalf("restored tree %s differs from %s:\n  %s", got, want, strings.Join(diffs, "\n  "))
	}
}

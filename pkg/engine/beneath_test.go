package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openDirBeneath refuses every symlink on the way, with openat2 and with
// the component walk kernels without openat2 get.
func TestOpenDirBeneath(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(fmt.Sprintf("componentWalk=%v", walk), func(t *testing.T) {
			if walk {
				openat2Missing.Store(true)
				t.Cleanup(func() { openat2Missing.Store(false) })
			}
			root, outside := t.TempDir(), t.TempDir()
			must(t, os.MkdirAll(filepath.Join(root, "a/b/c"), 0o755))
			must(t, os.MkdirAll(filepath.Join(root, "in"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "a/file"), nil, 0o644))
			must(t, os.Symlink(outside, filepath.Join(root, "a/out")))
			must(t, os.Symlink(filepath.Join(root, "in"), filepath.Join(root, "a/inside")))
			must(t, os.Symlink("b", filepath.Join(root, "a/relative")))
			dir, err := os.Open(root)
			must(t, err)
			defer dir.Close() //nolint:errcheck

			for _, tc := range []struct {
				rel     string
				wantErr error // nil: opens
				wantMsg string
			}{
				{rel: ""},
				{rel: "a/b/c"},
				{rel: "a/out", wantErr: ErrSymlinkInPath},
				{rel: "a/out/x", wantErr: ErrSymlinkInPath},
				{rel: "a/inside", wantErr: ErrSymlinkInPath},
				{rel: "a/relative/c", wantErr: ErrSymlinkInPath},
				{rel: "a/../..", wantErr: ErrUnsafeEntryName},
				{rel: "/etc", wantErr: ErrUnsafeEntryName},
				{rel: "a/file/x", wantMsg: "not a directory"},
				{rel: "a/missing", wantMsg: "no such file"},
			} {
				f, err := openDirBeneath(dir, tc.rel)
				switch {
				case tc.wantErr == nil && tc.wantMsg == "":
					if err != nil {
						t.Errorf("openDirBeneath(%q): %v", tc.rel, err)
					} else {
						f.Close() //nolint:errcheck
					}
				case err == nil:
					f.Close() //nolint:errcheck
					t.Errorf("openDirBeneath(%q) opened %s, want an error", tc.rel, f.Name())
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Errorf("openDirBeneath(%q): %v, want %v", tc.rel, err, tc.wantErr)
				case tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg):
					t.Errorf("openDirBeneath(%q): %v, want it to say %q", tc.rel, err, tc.wantMsg)
				}
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("something appeared outside: %v", ents)
			}
		})
	}
}

// removeAllAt removes a tree without following the symlinks in it.
func TestRemoveAllAtDoesNotFollowSymlinks(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(root, "tree/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "tree/sub/f"), []byte("x"), 0o644))
	must(t, os.Symlink(outside, filepath.Join(root, "tree/link")))
	dir, err := os.Open(root)
	must(t, err)
	defer dir.Close() //nolint:errcheck
	must(t, removeAllAt(dir, "tree"))
	if _, err := os.Lstat(filepath.Join(root, "tree")); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("file outside removed through the symlink: %v", err)
	}
}

// A writer that keeps swapping a symlink to a directory outside the target
// in for a directory of the target while the restore runs never gets a
// single byte written outside: the restore either wins every race or fails
// with ErrSymlinkInPath.
func TestRestoreConcurrentSymlinkSwapWritesNothingOutside(t *testing.T) {
	ctx := testContext(t)
	src := t.TempDir()
	for i := range 40 {
		d := filepath.Join(src, "dir", fmt.Sprintf("sub%02d", i))
		must(t, os.MkdirAll(d, 0o755))
		for j := range 5 {
			must(t, os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", j)), []byte("payload"), 0o644))
		}
	}
	repo := newTestRepo(t)
	res := repo.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	rep := repo.open(t, ctx)

	for round := range 3 {
		target, outside := t.TempDir(), t.TempDir()
		dataDir := filepath.Join(target, "data")
		must(t, os.MkdirAll(filepath.Join(dataDir, "dir"), 0o755))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Swap "dir" and every sub-directory the restore creates for a
			// symlink to outside, over and over.
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				victim := filepath.Join(dataDir, "dir")
				if n%2 == 1 {
					victim = filepath.Join(dataDir, "dir", fmt.Sprintf("sub%02d", (n/2)%40))
				}
				moved := victim + ".moved"
				if os.Rename(victim, moved) == nil {
					_ = os.Symlink(outside, victim)
					_ = os.Remove(victim)
					_ = os.Rename(moved, victim)
				}
			}
		}()
		o := RestoreOptions{TargetRoot: target, Parallel: 4, Entries: []SnapshotEntry{res[0].SnapshotEntry}}
		_, err := RestoreFromRepository(ctx, rep, o)
		close(stop)
		wg.Wait()
		if err != nil && !errors.Is(err, ErrSymlinkInPath) {
			t.Logf("round %d: restore failed with %v (allowed: the tree was being moved under it)", round, err)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("round %d: restore wrote outside the target: %v", round, ents)
		}
	}
}

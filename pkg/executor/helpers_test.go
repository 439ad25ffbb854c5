package executor

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2/ktesting"
)

const testPassword = "test-password"

func testContext(t *testing.T) context.Context {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	return ctx
}

// testRepo is a kopia repository in a temp directory.
type testRepo struct {
	opts RepositoryOptions
}

func newTestRepo(t *testing.T) testRepo {
	t.Helper()
	return testRepo{opts: RepositoryOptions{
		Storage:    StorageConfig{Local: &LocalStorage{Path: filepath.Join(t.TempDir(), "repo")}},
		Password:   testPassword,
		ScratchDir: t.TempDir(),
	}}
}

// snapshot creates the repository if needed and snapshots dirs (HostPath = key).
func (r testRepo) snapshot(t *testing.T, ctx context.Context, sources ...SnapshotSource) []SnapshotResult {
	t.Helper()
	o := r.opts
	o.Create = true
	rep, err := OpenRepository(ctx, o)
	if err != nil {
		t.Fatalf("OpenRepository(create): %v", err)
	}
	defer rep.Close(ctx) //nolint:errcheck
	res, err := CreateSnapshots(ctx, rep, sources)
	if err != nil {
		t.Fatalf("CreateSnapshots: %v", err)
	}
	return res
}

// open creates the repository if needed and opens it once for the test
// (each open derives the key from the password: slow under -race).
func (r testRepo) open(t *testing.T, ctx context.Context) *Repository {
	t.Helper()
	o := r.opts
	o.Create = true
	rep, err := OpenRepository(ctx, o)
	if err != nil {
		t.Fatalf("OpenRepository(create): %v", err)
	}
	t.Cleanup(func() { _ = rep.Close(context.Background()) })
	return rep
}

func (r testRepo) restoreOpts(target string, res []SnapshotResult) RestoreOptions {
	o := RestoreOptions{Repository: r.opts, TargetRoot: target, Parallel: 2}
	for _, s := range res {
		o.Entries = append(o.Entries, s.SnapshotEntry)
	}
	return o
}

// testMTime is the mtime writeTree gives files and symlinks; directories
// get the older testDirMTime, so that a directory's own mtime differs from
// the newest mtime in its subtree (which kopia's directory reader reports
// in its place; see treeFilter).
var (
	testMTime    = time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	testDirMTime = time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC)
)

// writeTree builds a small tree with files of several sizes, modes, a
// symlink, a dangling symlink, an empty dir and a nested dir.
func writeTree(t *testing.T, dir string, seed uint64) {
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
	for name, size := range files {
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
			tv := unix.NsecToTimeval(testMTime.UnixNano())
			return unix.Lutimes(p, []unix.Timeval{tv, tv})
		default:
			return os.Chtimes(p, testMTime, testMTime)
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
		must(t, os.Chtimes(dirs[i], testDirMTime, testDirMTime))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// treeEntry is what compareTrees checks for one path.
type treeEntry struct {
	mode    fs.FileMode
	mtime   time.Time
	content []byte
	link    string
}

func readTree(t *testing.T, dir string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := treeEntry{mode: st.Mode()}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			e.mtime = st.ModTime()
			e.link, err = os.Readlink(p)
		case st.Mode().IsRegular():
			e.mtime = st.ModTime()
			e.content, err = os.ReadFile(p)
		case st.IsDir():
			e.mtime = st.ModTime()
		}
		out[rel] = e
		return err
	}))
	return out
}

// compareTrees fails unless got holds exactly want's entries, the root
// included, with equal mode, mtime (of directories, files and symlinks
// themselves), content and link targets.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	for rel, we := range w {
		ge, ok := g[rel]
		if !ok {
			t.Errorf("%s: missing after restore", rel)
			continue
		}
		if we.mode != ge.mode {
			t.Errorf("%s: mode %v, want %v", rel, ge.mode, we.mode)
		}
		if !we.mtime.Equal(ge.mtime) {
			t.Errorf("%s: mtime %v, want %v", rel, ge.mtime, we.mtime)
		}
		if !bytes.Equal(we.content, ge.content) {
			t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(ge.content), len(we.content))
		}
		if we.link != ge.link {
			t.Errorf("%s: symlink to %q, want %q", rel, ge.link, we.link)
		}
	}
	for rel := range g {
		if _, ok := w[rel]; !ok {
			t.Errorf("%s: unexpected after restore", rel)
		}
	}
}

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/restore-controller/restore/internal/treetest"
)

func TestRestorePartialAndExclude(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 4)
	rep := r.open(t, ctx) // once: opening derives the key (slow under -race)
	res, err := CreateSnapshots(ctx, rep, []SnapshotSource{{Dir: src, HostPath: "/data"}})
	must(t, err)

	for _, tc := range []struct {
		name      string
		include   []string
		exclude   []string
		want      []string // regular files expected, relative to /data
		wantFiles int64
	}{
		{name: "include a directory and a file", include: []string{"sub/deeper", "a.txt"},
			want: []string{"sub/deeper/c.log", "sub/deeper/zero.bin", "a.txt"}, wantFiles: 3},
		{name: "nested include is deduplicated", include: []string{"other", "other/skip"},
			want: []string{"other/d.txt", "other/skip/e.tmp", "other/skip/inner/f.md"}, wantFiles: 3},
		{name: "exclude by base name and by path", exclude: []string{"*.bin", "other/skip"},
			want: []string{"a.txt", "sub/b.dat", "sub/deeper/c.log", "other/d.txt"}, wantFiles: 4},
		{name: "include with exclude inside it", include: []string{"other"}, exclude: []string{"*.md"},
			want: []string{"other/d.txt", "other/skip/e.tmp"}, wantFiles: 2},
		// Absolute paths are read from the component's root, where /data was.
		{name: "absolute includes under the hostPath", include: []string{"/data/sub/deeper", "/data/a.txt", "/data/sub/deeper/c.log"},
			want: []string{"sub/deeper/c.log", "sub/deeper/zero.bin", "a.txt"}, wantFiles: 3},
		{name: "the absolute hostPath is the whole snapshot", include: []string{"/data/", "/data/sub"}, exclude: []string{"/data/sub", "/data/other/"},
			want: []string{"a.txt", "big.bin"}, wantFiles: 2},
		{name: "the root is the whole snapshot", include: []string{"/"}, exclude: []string{"*.bin", "other/skip"},
			want: []string{"a.txt", "sub/b.dat", "sub/deeper/c.log", "other/d.txt"}, wantFiles: 4},
		{name: "an absolute exclude is anchored at the hostPath", exclude: []string{"/data/*.txt", "/data/other/skip"},
			want: []string{"big.bin", "sub/b.dat", "sub/deeper/c.log", "sub/deeper/zero.bin", "other/d.txt"}, wantFiles: 5},
		{name: "an absolute exclude elsewhere excludes nothing", include: []string{"other"}, exclude: []string{"/other/skip", "/etc"},
			want: []string{"other/d.txt", "other/skip/e.tmp", "other/skip/inner/f.md"}, wantFiles: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := t.TempDir()
			opts := r.restoreOpts(target, res)
			opts.Include, opts.Exclude = tc.include, tc.exclude
			got, err := RestoreFromRepository(ctx, rep, opts)
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			var files []string
			must(t, filepath.Walk(filepath.Join(target, "data"), func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					rel, _ := filepath.Rel(filepath.Join(target, "data"), p)
					files = append(files, rel)
				}
				return err
			}))
			if !sameSet(files, tc.want) {
				t.Errorf("restored %v, want %v", files, tc.want)
			}
			for _, f := range tc.want {
				a, _ := os.ReadFile(filepath.Join(src, f))
				b, _ := os.ReadFile(filepath.Join(target, "data", f))
				if string(a) != string(b) {
					t.Errorf("%s: content differs", f)
				}
			}
			if got.TotalFiles != tc.wantFiles || got.RestoredFiles != tc.wantFiles || got.Percentage() != 100 {
				t.Errorf("progress %+v, want %d files, 100%%", got.Progress, tc.wantFiles)
			}
		})
	}

	opts := r.restoreOpts(t.TempDir(), res)
	opts.Include = []string{"no/such/path"}
	if _, err := RestoreFromRepository(ctx, rep, opts); err == nil {
		t.Error("Restore with a missing include path succeeded")
	}
	opts.Include = []string{"../etc"}
	if _, err := RestoreFromRepository(ctx, rep, opts); err == nil {
		t.Error("Restore with include ../etc succeeded")
	}
	opts.Include = []string{"/sub"}
	_, err = RestoreFromRepository(ctx, rep, opts)
	if want := `include path "/sub" is in none of the snapshots (an absolute path is read from the component's root, and the snapshots hold /data)`; err == nil || err.Error() != want {
		t.Errorf("Restore with include /sub of a snapshot of /data = %v, want %q", err, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// A restore cancelled part-way leaves complete files behind; the next run
// with Resume skips them and finishes the tree byte for byte.
func TestRestoreResumeAfterCancel(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "many"), 0o755))
	for i := range 40 {
		must(t, os.WriteFile(filepath.Join(src, "many", "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), make([]byte, 20000+i), 0o644))
	}
	treetest.Write(t, src, 5) // also fixes the mtimes of the files above
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	target := t.TempDir()

	cctx, cancel := context.WithCancel(ctx)
	opts := r.restoreOpts(target, res)
	opts.Parallel = 1
	opts.ProgressInterval = 0 // every kopia event: cancel deterministically
	opts.Progress = func(p Progress) {
		if p.RestoredFiles >= 5 {
			cancel()
		}
	}
	first, err := Restore(cctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first Restore: %v, want context.Canceled", err)
	}
	if first.RestoredFiles < 5 || first.RestoredFiles >= first.TotalFiles {
		t.Fatalf("first run restored %d of %d files, want a part", first.RestoredFiles, first.TotalFiles)
	}

	opts = r.restoreOpts(target, res)
	opts.Resume = true
	second, err := Restore(ctx, opts)
	if err != nil {
		t.Fatalf("resumed Restore: %v", err)
	}
	treetest.Compare(t, src, filepath.Join(target, "data"))
	if second.SkippedFiles < first.RestoredFiles {
		t.Errorf("resumed run skipped %d files, want at least the %d restored before", second.SkippedFiles, first.RestoredFiles)
	}
	if second.RestoredFiles != second.TotalFiles || second.SkippedFiles >= second.TotalFiles {
		t.Errorf("resumed run %+v", second.Progress)
	}
}

func TestRestoreDeleteExtra(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 6)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})

	target := t.TempDir()
	d := filepath.Join(target, "data")
	must(t, os.MkdirAll(filepath.Join(d, "stale/dir"), 0o755))
	must(t, os.MkdirAll(filepath.Join(d, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "stale/dir/x"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "sub/extra.txt"), []byte("y"), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "keep.log"), []byte("z"), 0o644))

	// Without delete-extra the extra files stay.
	opts := r.restoreOpts(target, res)
	if _, err := Restore(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "sub/extra.txt")); err != nil {
		t.Errorf("extra file removed without delete-extra: %v", err)
	}
	// With it they go, except excluded ones.
	opts.DeleteExtra = true
	opts.Exclude = []string{"*.log"}
	got, err := Restore(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"stale", "sub/extra.txt"} {
		if _, err := os.Lstat(filepath.Join(d, p)); !os.IsNotExist(err) {
			t.Errorf("%s still there after delete-extra (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(d, "keep.log")); err != nil {
		t.Errorf("excluded keep.log removed: %v", err)
	}
	if got.DeletedEntries != 2 {
		t.Errorf("DeletedEntries %d, want 2", got.DeletedEntries)
	}
}

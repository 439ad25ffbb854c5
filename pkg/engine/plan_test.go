package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/internal/fstree"
	"github.com/restore-controller/restore/internal/treetest"
)

// TestPlanCountsAndWritesNothing: a dry run reports what a restore would
// do to the target as it is (new, kept, overwritten and deleted entries)
// and leaves the target exactly as it was, or absent when it was absent.
func TestPlanCountsAndWritesNothing(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 3)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	srcTree, err := fstree.Scan(src)
	must(t, err)
	srcFiles, srcBytes := srcTree.Stats()
	var srcDirs, srcLinks int64
	for _, e := range srcTree {
		switch e.Kind {
		case fstree.Dir:
			srcDirs++
		case fstree.Symlink:
			srcLinks++
		}
	}

	// A target restored once, then changed: a.txt rewritten with another
	// size, sub/b.dat removed, an extra file and an extra directory added.
	changed := t.TempDir()
	opts := r.restoreOpts(changed, res)
	if _, err := Restore(ctx, opts); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(changed, "data")
	must(t, os.WriteFile(filepath.Join(data, "a.txt"), []byte("changed"), 0o644))
	must(t, os.Remove(filepath.Join(data, "sub", "b.dat")))
	must(t, os.WriteFile(filepath.Join(data, "extra.txt"), []byte("extra"), 0o644))
	must(t, os.MkdirAll(filepath.Join(data, "extra-dir", "x"), 0o755))
	aSize := srcTree["a.txt"].Size
	bSize := srcTree["sub/b.dat"].Size

	for _, tc := range []struct {
		name        string
		target      string
		resume      bool
		deleteExtra bool
		want        Plan
	}{
		{
			name: "absent target", target: filepath.Join(t.TempDir(), "absent"), resume: true,
			// The destination directory itself is created too.
			want: Plan{Files: srcFiles, Bytes: srcBytes, Dirs: srcDirs + 1, Symlinks: srcLinks},
		},
		{
			name: "changed target with resume and delete-extra", target: changed, resume: true, deleteExtra: true,
			want: Plan{
				Files: 2, Bytes: aSize + bSize, OverwrittenFiles: 1,
				KeptFiles: srcFiles - 2, KeptBytes: srcBytes - aSize - bSize, DeletedEntries: 2,
			},
		},
		{
			name: "changed target without resume", target: changed,
			want: Plan{Files: srcFiles, Bytes: srcBytes, OverwrittenFiles: srcFiles - 1, Symlinks: srcLinks},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := scanOrNil(t, tc.target)
			opts := r.restoreOpts(tc.target, res)
			opts.Resume, opts.DeleteExtra, opts.DryRun = tc.resume, tc.deleteExtra, true
			got, err := Restore(ctx, opts)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if got.Plan == nil {
				t.Fatal("a dry run returned no plan")
			}
			p := *got.Plan
			if len(p.Volumes) != 1 || p.Volumes[0].Free <= 0 || p.Volumes[0].Path != filepath.Join(tc.target, "data") {
				t.Errorf("plan volumes %+v, want one with free space at %s", p.Volumes, filepath.Join(tc.target, "data"))
			}
			p.Volumes = nil
			if !reflect.DeepEqual(p, tc.want) {
				t.Errorf("plan\n %+v, want\n %+v", p, tc.want)
			}
			if got.TotalFiles != srcFiles || got.TotalBytes != srcBytes || got.RestoredFiles != 0 {
				t.Errorf("dry run progress %+v, want the totals and nothing restored", got.Progress)
			}
			after := scanOrNil(t, tc.target)
			if before == nil && after != nil {
				t.Fatalf("a dry run created %s", tc.target)
			}
			if d := fstree.Diff(before, after, fstree.Options{AllMTimes: true}); len(d) > 0 {
				t.Errorf("a dry run changed the target:\n  %s", strings.Join(d, "\n  "))
			}
		})
	}
}

func scanOrNil(t *testing.T, dir string) fstree.Tree {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tree, err := fstree.Scan(dir)
	must(t, err)
	return tree
}

// TestSpaceCheckFailsBeforeWriting: on a filesystem too small for the
// snapshot the restore fails at once with ErrNoSpaceLeft, naming the
// destination, the bytes needed and the bytes free, and writes nothing;
// once an earlier (partial) restore put some files in place, resume skips
// them and the check counts only the rest.
func TestSpaceCheckFailsBeforeWriting(t *testing.T) {
	ctx := testContext(t)
	small := mountTmpfs(t, 3<<20)
	r := newTestRepo(t)
	src := t.TempDir()
	for _, name := range []string{"one.bin", "two.bin"} {
		b := make([]byte, 2<<20)
		for i := range b {
			b[i] = byte(i*7 + len(name))
		}
		must(t, os.WriteFile(filepath.Join(src, name), b, 0o644))
	}
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})

	opts := r.restoreOpts(small, res)
	opts.Resume = true
	_, err := Restore(ctx, opts)
	if !errors.Is(err, ErrNoSpaceLeft) {
		t.Fatalf("restore of 4 MiB onto a 3 MiB filesystem: %v, want ErrNoSpaceLeft", err)
	}
	wantMsg := fmt.Sprintf("%s needs 4.0 MiB, has ", filepath.Join(small, "data"))
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("error %q does not say %q", err, wantMsg)
	}
	if ents, _ := os.ReadDir(small); len(ents) != 0 {
		t.Errorf("the refused restore wrote %v", ents)
	}

	// On 5 MiB with one file already in place (a partial restore), less
	// is free than the snapshot's 4 MiB, but resume skips that file: the
	// 2 MiB left fit, and the restore goes ahead.
	roomy := mountTmpfs(t, 5<<20)
	opts = r.restoreOpts(roomy, res)
	opts.Resume = true
	partial := opts
	partial.Include = []string{"one.bin"}
	if _, err := Restore(ctx, partial); err != nil {
		t.Fatalf("restoring one file: %v", err)
	}
	got, err := Restore(ctx, opts)
	if err != nil {
		t.Fatalf("resumed restore needing 2 MiB: %v", err)
	}
	if got.Plan == nil || got.Plan.KeptFiles != 1 || got.Plan.Files != 1 || got.Plan.Volumes[0].Needed != 2<<20 ||
		got.Plan.Volumes[0].Free >= 4<<20 {
		t.Errorf("space check of the resumed restore %+v, want one file kept, one to write, 2 MiB needed, less than 4 MiB free", got.Plan)
	}
	treetest.Compare(t, src, filepath.Join(roomy, "data"))
}

// mountTmpfs mounts a tmpfs of size bytes on a temp dir for the test
// (root only; skipped elsewhere).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): the space check needs a small filesystem", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting the tmpfs at %s: %v", dir, err)
		}
	})
	return dir
}

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/restore-controller/restore/internal/treetest"
)

func TestRestoreRoundTrip(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 1)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data/app"})

	for _, sparse := range []bool{false, true} {
		target := t.TempDir()
		opts := r.restoreOpts(target, res)
		opts.Sparse = sparse
		var reports []Progress
		opts.Progress = func(p Progress) { reports = append(reports, p) }
		got, err := Restore(ctx, opts)
		if err != nil {
			t.Fatalf("Restore(sparse=%v): %v", sparse, err)
		}
		treetest.Compare(t, src, filepath.Join(target, "data/app"))
		if got.TotalBytes != res[0].Size || got.RestoredBytes != got.TotalBytes || got.TotalFiles != treetest.WriteFiles || got.RestoredFiles != treetest.WriteFiles {
			t.Errorf("result %+v, want %d bytes and %d files restored", got.Progress, res[0].Size, treetest.WriteFiles)
		}
		if len(reports) == 0 || reports[len(reports)-1].Percentage() != 100 {
			t.Errorf("last progress report %+v, want 100%%", reports)
		}
	}

	// An included directory is a restore root of its own: it, too, gets
	// its recorded mtime, not the newest one in its subtree.
	target := t.TempDir()
	opts := r.restoreOpts(target, res)
	opts.Include = []string{"sub/deeper", "other"}
	if _, err := Restore(ctx, opts); err != nil {
		t.Fatalf("partial Restore: %v", err)
	}
	for _, inc := range opts.Include {
		treetest.Compare(t, filepath.Join(src, inc), filepath.Join(target, "data/app", inc))
	}
}

func TestRestoreRejectsDestinationsOutsideTarget(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 2)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})

	for _, tc := range []struct {
		name   string
		host   string
		mounts []string
	}{
		{name: "hostPath climbs out of the target root", host: "../../etc"},
		{name: "not under a mount path", host: "/data", mounts: []string{"/var/lib/mysql", "/datax"}},
		{name: "mount path prefix is not containment", host: "/database", mounts: []string{"/data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := t.TempDir()
			opts := r.restoreOpts(target, res)
			opts.Entries[0].HostPath = tc.host
			opts.TargetMountPaths = tc.mounts
			if _, err := Restore(ctx, opts); !errors.Is(err, ErrOutsideTarget) {
				t.Fatalf("Restore: %v, want ErrOutsideTarget", err)
			}
			if ents, _ := os.ReadDir(target); len(ents) != 0 {
				t.Errorf("target not empty after refused restore: %v", ents)
			}
		})
	}
	// Inside a mount path works.
	target := t.TempDir()
	opts := r.restoreOpts(target, res)
	opts.TargetMountPaths = []string{"/data"}
	if _, err := Restore(context.Background(), opts); err != nil {
		t.Fatalf("Restore into mount path: %v", err)
	}
	treetest.Compare(t, src, filepath.Join(target, "data"))
}

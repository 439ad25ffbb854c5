package engine

import (
	"context"
	"path/filepath"
	"testing"

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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/test/framework"
)

// Snapshots made by the kopia CLI itself (v0.21.1, its default repository
// format, splitter, encryption and policies) must restore through the
// executor exactly: the executor is only useful if it reads what kopia
// writes, not merely what the executor's own snapshot code writes.

const cliPassword = "kopia-cli-password"

// TestKopiaCLISnapshotRestoresByteForByte: a filesystem repository created
// and written by the kopia CLI restores through engine.Restore into the
// destination its hostPath names, identical in bytes, modes, mtimes and
// symlinks; the executor's scratch space holds nothing afterwards (the
// kopia config file carries the repository's credentials).
func TestKopiaCLISnapshotRestoresByteForByte(t *testing.T) {
	src := filepath.Join(t.TempDir(), "data")
	// 24 MiB: several content chunks and pack blobs.
	framework.WriteEdgeCaseTree(t, src, 24<<20)
	repoDir := filepath.Join(t.TempDir(), "repo")
	k := newKopiaCLI(t, cliPassword)
	k.run("repository", "create", "filesystem", "--path", repoDir)
	id := k.snapshot(src)

	targetRoot, scratch := t.TempDir(), t.TempDir()
	res, err := engine.Restore(context.Background(), engine.RestoreOptions{
		Repository: engine.RepositoryOptions{
			Storage:    engine.StorageConfig{Local: &engine.LocalStorage{Path: repoDir}},
			Password:   cliPassword,
			ScratchDir: scratch,
		},
		Entries:          []engine.SnapshotEntry{{SnapshotID: id, HostPath: "/var/lib/app"}},
		TargetRoot:       targetRoot,
		TargetMountPaths: []string{"/var/lib/app"},
	})
	if err != nil {
		t.Fatalf("restoring kopia CLI snapshot %s: %v", id, err)
	}
	want := framework.ScanTree(t, src)
	framework.ExpectSameTree(t, "the restored tree", want, filepath.Join(targetRoot, "var", "lib", "app"))

	wantFiles, wantBytes := want.Stats()
	if res.TotalFiles != wantFiles || res.RestoredFiles != wantFiles || res.TotalBytes != wantBytes || res.RestoredBytes != wantBytes {
		t.Errorf("result %+v, want %d files and %d bytes total and restored", res.Progress, wantFiles, wantBytes)
	}
	if p := res.Percentage(); p != 100 {
		t.Errorf("final percentage %d, want 100", p)
	}
	left, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("scratch dir holds %v after the restore: the kopia config (with credentials) and cache must go", names(left))
	}

	t.Run("partial restore of a sub path", func(t *testing.T) {
		target := t.TempDir()
		_, err := engine.Restore(context.Background(), engine.RestoreOptions{
			Repository: engine.RepositoryOptions{
				Storage:    engine.StorageConfig{Local: &engine.LocalStorage{Path: repoDir}},
				Password:   cliPassword,
				ScratchDir: t.TempDir(),
			},
			Entries:    []engine.SnapshotEntry{{SnapshotID: id, HostPath: "/data"}},
			TargetRoot: target,
			Include:    []string{"deep/a"},
		})
		if err != nil {
			t.Fatal(err)
		}
		framework.ExpectSameTree(t, "the restored deep/a", framework.ScanTree(t, filepath.Join(src, "deep", "a")), filepath.Join(target, "data", "deep", "a"))
		for _, absent := range []string{"big.bin", "text", "many"} {
			if _, err := os.Lstat(filepath.Join(target, "data", absent)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was restored by a restore of deep/a only (err %v)", absent, err)
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		target := t.TempDir()
		_, err := engine.Restore(context.Background(), engine.RestoreOptions{
			Repository: engine.RepositoryOptions{
				Storage:    engine.StorageConfig{Local: &engine.LocalStorage{Path: repoDir}},
				Password:   "not-" + cliPassword,
				ScratchDir: t.TempDir(),
			},
			Entries:    []engine.SnapshotEntry{{SnapshotID: id, HostPath: "/data"}},
			TargetRoot: target,
		})
		if !errors.Is(err, engine.ErrInvalidPassword) {
			t.Fatalf("restore with a wrong password: %v, want ErrInvalidPassword", err)
		}
		if left, _ := os.ReadDir(target); len(left) != 0 {
			t.Errorf("a restore that could not open the repository wrote %v", names(left))
		}
	})
}

// TestKopiaCLISnapshotOnS3RestoresByteForByte: the same through a real S3
// server (versitygw, posix backend): the kopia CLI writes the repository
// under a prefix in a bucket, the executor reads it with the endpoint
// written the KubeStash way ("http://host:port").
func TestKopiaCLISnapshotOnS3RestoresByteForByte(t *testing.T) {
	gw := framework.StartVersitygw(t)
	const bucket, prefix = "backups", "team-a/app/"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mc := gw.MakeBucket(ctx, t, bucket)

	src := filepath.Join(t.TempDir(), "data")
	framework.WriteEdgeCaseTree(t, src, 12<<20)
	k := newKopiaCLI(t, cliPassword)
	k.run("repository", "create", "s3", "--bucket", bucket, "--prefix", prefix, "--endpoint", gw.Endpoint,
		"--disable-tls", "--access-key", gw.Access, "--secret-access-key", gw.Secret)
	id := k.snapshot(src)

	// The repository really is in the bucket under the prefix.
	var objects int
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		objects++
	}
	if objects == 0 {
		t.Fatalf("no objects under s3://%s/%s after kopia wrote its repository", bucket, prefix)
	}

	targetRoot := t.TempDir()
	_, err := engine.Restore(ctx, engine.RestoreOptions{
		Repository: engine.RepositoryOptions{
			Storage: engine.StorageConfig{S3: &engine.S3Storage{
				Endpoint: "http://" + gw.Endpoint, Bucket: bucket, Prefix: prefix,
				AccessKeyID: gw.Access, SecretAccessKey: gw.Secret,
			}},
			Password:   cliPassword,
			ScratchDir: t.TempDir(),
		},
		Entries:    []engine.SnapshotEntry{{SnapshotID: id, HostPath: "/restore"}},
		TargetRoot: targetRoot,
	})
	if err != nil {
		t.Fatalf("restoring kopia CLI snapshot %s from S3: %v", id, err)
	}
	framework.ExpectSameTree(t, "the tree restored from S3", framework.ScanTree(t, src), filepath.Join(targetRoot, "restore"))
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

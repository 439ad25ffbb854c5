package executor

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/test/framework"
)

const objectStorePassword = "object-store-password"

// engineRoundTrip snapshots a tree into storage with the engine (creating
// the repository) and restores it from a fresh connection, byte for byte.
func engineRoundTrip(t *testing.T, ctx context.Context, storage engine.StorageConfig) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "data")
	framework.WriteEdgeCaseTree(t, src, 4<<20)
	rep, err := engine.OpenRepository(ctx, engine.RepositoryOptions{
		Storage: storage, Password: objectStorePassword, ScratchDir: t.TempDir(), Create: true,
	})
	if err != nil {
		t.Fatalf("creating the repository in %s: %v", storage, err)
	}
	res, err := engine.CreateSnapshots(ctx, rep, []engine.SnapshotSource{{Dir: src, HostPath: "/data"}})
	_ = rep.Close(ctx)
	if err != nil {
		t.Fatalf("snapshot into %s: %v", storage, err)
	}
	target := t.TempDir()
	if _, err := engine.Restore(ctx, engine.RestoreOptions{
		Repository: engine.RepositoryOptions{Storage: storage, Password: objectStorePassword, ScratchDir: t.TempDir()},
		Entries:    []engine.SnapshotEntry{res[0].SnapshotEntry},
		TargetRoot: target,
	}); err != nil {
		t.Fatalf("restoring from %s: %v", storage, err)
	}
	framework.ExpectSameTree(t, "the tree restored from "+storage.String(), framework.ScanTree(t, src), filepath.Join(target, "data"))
}

// expectOpenError: opening storage fails with the sentinel want (a
// storage refusing the credentials or missing its bucket fails for good,
// see executor.Retryable) and a message containing naming.
func expectOpenError(t *testing.T, ctx context.Context, storage engine.StorageConfig, want error, naming string) {
	t.Helper()
	_, err := engine.OpenStorage(ctx, storage, false)
	if !errors.Is(err, want) || !strings.Contains(err.Error(), naming) {
		t.Fatalf("OpenStorage(%s): %v, want %v naming %q", storage, err, want, naming)
	}
}

// TestEngineRoundTripOnGCS: the gcs backend against fake-gcs-server, with
// a KubeStash-style prefix ("/backup/..."), a connection bound, and no
// credentials (the emulator needs none: application-default credentials
// are not consulted when STORAGE_EMULATOR_HOST is set).
func TestEngineRoundTripOnGCS(t *testing.T) {
	gcs := framework.StartFakeGCS(t)
	t.Setenv("STORAGE_EMULATOR_HOST", gcs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gcs.MakeBucket(ctx, t, "backups")

	engineRoundTrip(t, ctx, engine.StorageConfig{GCS: &engine.GCSStorage{
		Bucket: "backups", Prefix: engine.ObjectPrefix("/backup/cluster-1", "/demo/app"), MaxConnections: 4,
	}})
	t.Run("missing bucket", func(t *testing.T) {
		expectOpenError(t, ctx, engine.StorageConfig{GCS: &engine.GCSStorage{Bucket: "no-such-bucket"}}, engine.ErrBucketNotFound, "gcs:no-such-bucket/")
	})
}

// TestEngineRoundTripOnAzure: the azure backend against Azurite over
// HTTPS, reached through the storageDomain extension.
func TestEngineRoundTripOnAzure(t *testing.T) {
	az := framework.StartAzurite(t)
	// The client trusts the emulator's certificate only; it is read when
	// the first TLS connection verifies a certificate with system roots.
	t.Setenv("SSL_CERT_FILE", az.CertFile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	az.MakeContainer(ctx, t, "backups")

	storage := func(key string) *engine.AzureStorage {
		return &engine.AzureStorage{
			StorageAccount: framework.AzuriteAccount, Container: "backups", AccountKey: key,
			Prefix: engine.ObjectPrefix("/backup/cluster-1", "demo/app"), StorageDomain: az.StorageDomain, MaxConnections: 4,
		}
	}
	engineRoundTrip(t, ctx, engine.StorageConfig{Azure: storage(framework.AzuriteAccountKey)})
	t.Run("wrong key", func(t *testing.T) {
		wrong := "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
		expectOpenError(t, ctx, engine.StorageConfig{Azure: storage(wrong)}, engine.ErrStorageAccessDenied, "azure:devstoreaccount1.")
	})
	t.Run("missing container", func(t *testing.T) {
		s := storage(framework.AzuriteAccountKey)
		s.Container = "no-such-container"
		expectOpenError(t, ctx, engine.StorageConfig{Azure: s}, engine.ErrBucketNotFound, "/no-such-container/")
	})
}

// TestEngineOpenErrorsOnS3: versitygw refusing a wrong secret key is
// ErrStorageAccessDenied naming the bucket. A missing bucket reads, through
// kopia's S3 storage, as a bucket without a repository (kopia turns every
// 404 into "blob not found"): ErrRepositoryNotInitialized naming it. Both
// fail for good (executor.Retryable).
func TestEngineOpenErrorsOnS3(t *testing.T) {
	gw := framework.StartVersitygw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gw.MakeBucket(ctx, t, "backups")
	storage := func(bucket, secret string) engine.StorageConfig {
		return engine.StorageConfig{S3: &engine.S3Storage{
			Endpoint: "http://" + gw.Endpoint, Bucket: bucket, Prefix: "demo/", Region: "us-east-1",
			AccessKeyID: gw.Access, SecretAccessKey: secret,
		}}
	}
	t.Run("wrong secret key", func(t *testing.T) {
		expectOpenError(t, ctx, storage("backups", "not-the-secret"), engine.ErrStorageAccessDenied, "/backups/demo/")
	})
	t.Run("missing bucket", func(t *testing.T) {
		_, err := engine.OpenRepository(ctx, engine.RepositoryOptions{
			Storage: storage("no-such-bucket", gw.Secret), Password: objectStorePassword, ScratchDir: t.TempDir(), ReadOnly: true,
		})
		if !errors.Is(err, engine.ErrRepositoryNotInitialized) || !strings.Contains(err.Error(), "/no-such-bucket/demo/") {
			t.Fatalf("OpenRepository: %v, want ErrRepositoryNotInitialized naming the bucket", err)
		}
	})
}

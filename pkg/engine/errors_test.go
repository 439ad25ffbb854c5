package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/object"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/snapshotfs"
	"github.com/minio/minio-go/v7"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/restore-controller/restore/internal/treetest"
)

func TestRestoreErrors(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 7)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})

	t.Run("wrong password", func(t *testing.T) {
		opts := r.restoreOpts(t.TempDir(), res)
		opts.Repository.Password = "nope"
		_, err := Restore(ctx, opts)
		if !errors.Is(err, ErrInvalidPassword) || !strings.Contains(err.Error(), "invalid repository password") {
			t.Fatalf("err %v, want invalid repository password", err)
		}
	})
	t.Run("unreachable local storage", func(t *testing.T) {
		opts := r.restoreOpts(t.TempDir(), res)
		opts.Repository.Storage = StorageConfig{Local: &LocalStorage{Path: filepath.Join(t.TempDir(), "missing")}}
		if _, err := Restore(ctx, opts); !errors.Is(err, ErrStorageUnreachable) {
			t.Fatalf("err %v, want ErrStorageUnreachable", err)
		}
	})
	t.Run("unreachable s3 endpoint", func(t *testing.T) {
		opts := r.restoreOpts(t.TempDir(), res)
		opts.Repository.Storage = StorageConfig{S3: &S3Storage{Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKeyID: "k", SecretAccessKey: "s"}}
		cctx, cancel := context.WithTimeout(ctx, 20e9)
		defer cancel()
		if _, err := Restore(cctx, opts); !errors.Is(err, ErrStorageUnreachable) {
			t.Fatalf("err %v, want ErrStorageUnreachable", err)
		}
	})
	t.Run("snapshot not in repository", func(t *testing.T) {
		opts := r.restoreOpts(t.TempDir(), res)
		opts.Entries[0].SnapshotID = "0123456789abcdef0123456789abcdef"
		if _, err := Restore(ctx, opts); !errors.Is(err, ErrSnapshotNotFound) {
			t.Fatalf("err %v, want ErrSnapshotNotFound", err)
		}
	})
}

// Flipping bytes in every pack blob on disk must fail the restore with a
// corruption error, never succeed.
func TestRestoreDetectsCorruptPack(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 8)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	var packs int
	must(t, filepath.Walk(r.opts.Storage.Local.Path, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		// Sharded blob paths: pack blob "pXXXX…" lives under "pXX/…".
		rel, _ := filepath.Rel(r.opts.Storage.Local.Path, p)
		if !strings.HasPrefix(rel, "p") {
			return nil
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 64)
		if _, err := f.ReadAt(buf, info.Size()/2); err != nil {
			return err
		}
		for i := range buf {
			buf[i] ^= 0xff
		}
		_, err = f.WriteAt(buf, info.Size()/2)
		packs++
		return err
	}))
	if packs == 0 {
		t.Fatal("no pack blobs found to corrupt")
	}
	_, err := Restore(ctx, r.restoreOpts(t.TempDir(), res))
	if !errors.Is(err, ErrRepositoryCorruption) {
		t.Fatalf("Restore of corrupt repository: %v, want ErrRepositoryCorruption", err)
	}
}

// A real tmpfs of 1 MiB (needs root and mount(2); skipped otherwise)
// cannot hold the 3 MiB file: the restore fails with ErrNoSpaceLeft.
func TestRestoreNoSpaceLeft(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 9)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	target := t.TempDir()
	if err := syscall.Mount("tmpfs", target, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v); the ENOSPC path is then untested", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	_, err := Restore(ctx, r.restoreOpts(target, res))
	if !errors.Is(err, ErrNoSpaceLeft) {
		t.Fatalf("Restore onto a full tmpfs: %v, want ErrNoSpaceLeft", err)
	}
}

// hostileEntry is one entry of a hand-made snapshot root directory.
type hostileEntry struct {
	name    string
	typ     snapshot.EntryType
	content string // file data or symlink target
	sub     []hostileEntry
}

// writeHostileDir writes directory manifests by hand: kopia's uploader
// never produces such names, but anyone with write access to the
// repository can.
func writeHostileDir(ctx context.Context, w repo.RepositoryWriter, entries []hostileEntry) (object.ID, error) {
	var des []*snapshot.DirEntry
	for _, e := range entries {
		de := &snapshot.DirEntry{Name: e.name, Type: e.typ, Permissions: 0o755}
		var err error
		if e.typ == snapshot.EntryTypeDirectory {
			de.ObjectID, err = writeHostileDir(ctx, w, e.sub)
			de.DirSummary = &fs.DirectorySummary{}
		} else {
			ow := w.NewObjectWriter(ctx, object.WriterOptions{})
			_, _ = ow.Write([]byte(e.content))
			de.ObjectID, err = ow.Result()
			de.FileSize = int64(len(e.content))
		}
		if err != nil {
			return object.EmptyID, err
		}
		des = append(des, de)
	}
	return snapshotfs.WriteDirManifest(ctx, w, "", &snapshot.DirManifest{StreamType: "kopia:directory", Entries: des, Summary: &fs.DirectorySummary{}}, "")
}

func writeHostileSnapshot(t *testing.T, ctx context.Context, rep repo.Repository, entries []hostileEntry) string {
	t.Helper()
	var id string
	must(t, repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "hostile"}, func(ctx context.Context, w repo.RepositoryWriter) error {
		root, err := writeHostileDir(ctx, w, entries)
		if err != nil {
			return err
		}
		mid, err := snapshot.SaveSnapshot(ctx, w, &snapshot.Manifest{
			Source:    snapshot.SourceInfo{Host: "h", UserName: "u", Path: "/data"},
			RootEntry: &snapshot.DirEntry{Name: "data", Type: snapshot.EntryTypeDirectory, ObjectID: root, Permissions: 0o755, DirSummary: &fs.DirectorySummary{}},
		})
		id = string(mid)
		return err
	}))
	return id
}

// Hostile snapshots never write outside the target.
func TestRestoreHostileSnapshotStaysInTarget(t *testing.T) {
	ctx := testContext(t)
	// One repository holds every case's snapshot: opening one is slow.
	rep := newTestRepo(t).open(t, ctx)
	outside := t.TempDir()
	file := func(name string) hostileEntry {
		return hostileEntry{name: name, typ: snapshot.EntryTypeFile, content: "pwned"}
	}
	dir := func(name string, sub ...hostileEntry) hostileEntry {
		return hostileEntry{name: name, typ: snapshot.EntryTypeDirectory, sub: sub}
	}
	link := func(name, to string) hostileEntry {
		return hostileEntry{name: name, typ: snapshot.EntryTypeSymlink, content: to}
	}
	for _, tc := range []struct {
		name    string
		entries []hostileEntry
		wantErr error
		// kopia's directory reader keeps one of duplicate names itself:
		// the restore may succeed, but must stay inside the target.
		mayFail bool
	}{
		{name: "dot-dot directory", entries: []hostileEntry{dir("..", file("escaped"))}, wantErr: ErrUnsafeEntryName},
		{name: "name with slashes", entries: []hostileEntry{file("../../escaped")}, wantErr: ErrUnsafeEntryName},
		{name: "absolute name", entries: []hostileEntry{file(outside + "/escaped")}, wantErr: ErrUnsafeEntryName},
		{name: "symlink then directory of the same name", entries: []hostileEntry{link("evil", outside), dir("evil", file("escaped"))}, mayFail: true},
		{name: "nested dot-dot", entries: []hostileEntry{dir("a", dir("b", dir("..", dir("..", dir("..", file("escaped"))))))}, wantErr: ErrUnsafeEntryName},
		// A symlink pointing outside is data: restored as a link, never followed.
		{name: "symlink to outside is restored as a link", entries: []hostileEntry{link("out", outside), file("ok")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := writeHostileSnapshot(t, ctx, rep, tc.entries)
			target := t.TempDir()
			_, err := RestoreFromRepository(ctx, rep, RestoreOptions{TargetRoot: target, Entries: []SnapshotEntry{{SnapshotID: id, HostPath: "/data"}}})
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && !tc.mayFail && err != nil {
				t.Fatalf("err %v", err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("restore wrote outside the target: %v", ents)
			}
		})
	}

	// Symlinks already in the target are replaced, not written through.
	id := writeHostileSnapshot(t, ctx, rep, []hostileEntry{dir("sub", file("f")), file("g")})
	target := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(target, "data"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(target, "data/sub")))
	must(t, os.WriteFile(filepath.Join(outside, "victim"), []byte("keep"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "victim"), filepath.Join(target, "data/g")))
	if _, err := RestoreFromRepository(ctx, rep, RestoreOptions{TargetRoot: target, Entries: []SnapshotEntry{{SnapshotID: id, HostPath: "/data"}}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "keep" {
		t.Errorf("victim outside the target overwritten: %q", b)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("restore wrote outside the target: %v", ents)
	}
	// A symlink on the way to the destination itself is refused.
	target2 := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(target2, "data")))
	if _, err := RestoreFromRepository(ctx, rep, RestoreOptions{TargetRoot: target2, Entries: []SnapshotEntry{{SnapshotID: id, HostPath: "/data/x"}}}); !errors.Is(err, ErrSymlinkInPath) {
		t.Errorf("restore through a symlinked destination: %v, want ErrSymlinkInPath", err)
	}
}

// TestStorageOpenErrorClassifiesTheStoresAnswer: an object store that
// answers "wrong credentials" or "no such bucket" is a permanent failure
// naming the storage; anything else opening the storage is unreachable
// storage, which a retry may get past.
func TestStorageOpenErrorClassifiesTheStoresAnswer(t *testing.T) {
	store := &S3Storage{Endpoint: "http://127.0.0.1:9000", Bucket: "backups", Prefix: "demo/"}
	wrapped := func(err error) error { return fmt.Errorf("unable to list from the bucket: %w", err) }
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"s3 signature mismatch", wrapped(minio.ErrorResponse{StatusCode: http.StatusForbidden, Code: "SignatureDoesNotMatch"}), ErrStorageAccessDenied},
		{"s3 unknown access key", wrapped(minio.ErrorResponse{StatusCode: http.StatusForbidden, Code: "InvalidAccessKeyId"}), ErrStorageAccessDenied},
		{"s3 no such bucket", wrapped(minio.ErrorResponse{StatusCode: http.StatusNotFound, Code: "NoSuchBucket"}), ErrBucketNotFound},
		{"s3 slow down", wrapped(minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "SlowDown"}), ErrStorageUnreachable},
		{"gcs forbidden", wrapped(&googleapi.Error{Code: http.StatusForbidden}), ErrStorageAccessDenied},
		{"gcs no bucket", wrapped(&googleapi.Error{Code: http.StatusNotFound}), ErrBucketNotFound},
		{"gcs bucket sentinel", wrapped(storage.ErrBucketNotExist), ErrBucketNotFound},
		{"gcs token refused", wrapped(&auth.Error{Response: &http.Response{StatusCode: http.StatusBadRequest}}), ErrStorageAccessDenied},
		{"gcs token refused, oauth2", wrapped(&oauth2.RetrieveError{Response: &http.Response{StatusCode: http.StatusUnauthorized}}), ErrStorageAccessDenied},
		{"gcs token endpoint down", wrapped(&auth.Error{Response: &http.Response{StatusCode: http.StatusBadGateway}}), ErrStorageUnreachable},
		{"azure authentication failed", wrapped(&azcore.ResponseError{StatusCode: http.StatusForbidden, ErrorCode: "AuthenticationFailed"}), ErrStorageAccessDenied},
		{"azure container not found", wrapped(&azcore.ResponseError{StatusCode: http.StatusNotFound, ErrorCode: "ContainerNotFound"}), ErrBucketNotFound},
		{"azure server busy", wrapped(&azcore.ResponseError{StatusCode: http.StatusServiceUnavailable, ErrorCode: "ServerBusy"}), ErrStorageUnreachable},
		{"connection refused", wrapped(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), ErrStorageUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storageOpenError(store, tc.err)
			for _, sentinel := range []error{ErrStorageUnreachable, ErrStorageAccessDenied, ErrBucketNotFound} {
				if got := errors.Is(err, sentinel); got != (sentinel == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %t", err, sentinel, got)
				}
			}
			if !strings.HasPrefix(err.Error(), tc.want.Error()+" s3:http://127.0.0.1:9000/backups/demo/: ") || !errors.Is(err, tc.err) {
				t.Errorf("error %q: want %q, the storage and the cause", err, tc.want)
			}
		})
	}
}

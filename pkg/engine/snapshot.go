package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/kopia/kopia/fs/localfs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/policy"
	"github.com/kopia/kopia/snapshot/upload"
	"k8s.io/klog/v2"
)

// SnapshotSource is one directory to snapshot.
type SnapshotSource struct {
	// Dir is read from.
	Dir string
	// HostPath is recorded as the snapshot's source path (the path the data
	// has in the application's pod); it is where a restore puts it back.
	// Empty means Dir.
	HostPath string
}

// SnapshotResult is one kopia snapshot made by CreateSnapshots.
type SnapshotResult struct {
	SnapshotEntry
	// Size is the snapshot's total file size; Uploaded the bytes written
	// to the repository for it (after deduplication and compression).
	Size     int64
	Uploaded int64
	Files    int64
}

// snapshotHost is the kopia source host recorded on snapshots.
const snapshotHost = "restore-executor"

// CreateSnapshots snapshots each source into rep with kopia's uploader and
// saves a snapshot manifest for it.
func CreateSnapshots(ctx context.Context, rep repo.Repository, sources []SnapshotSource) ([]SnapshotResult, error) {
	logger := klog.FromContext(ctx)
	var results []SnapshotResult
	for _, src := range sources {
		abs, err := filepath.Abs(src.Dir)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", src.Dir, err)
		}
		if st, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("source %q: %w", src.Dir, err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("source %q is not a directory", src.Dir)
		}
		hostPath := src.HostPath
		if hostPath == "" {
			hostPath = abs
		}
		entry, err := localfs.NewEntry(abs)
		if err != nil {
			return nil, fmt.Errorf("reading source %q: %w", abs, err)
		}
		si := snapshot.SourceInfo{Host: snapshotHost, UserName: snapshotHost, Path: hostPath}

		var uploaded atomic.Int64
		var res SnapshotResult
		err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{
			Purpose:  "restore-executor snapshot",
			OnUpload: func(n int64) { uploaded.Add(n) },
		}, func(ctx context.Context, w repo.RepositoryWriter) error {
			u := upload.NewUploader(w)
			man, err := u.Upload(ctx, entry, policy.BuildTree(nil, policy.DefaultPolicy), si)
			if err != nil {
				return fmt.Errorf("uploading %q: %w", abs, err)
			}
			if man.IncompleteReason != "" {
				return fmt.Errorf("snapshot of %q incomplete: %s", abs, man.IncompleteReason)
			}
			if n := man.Stats.ErrorCount; n > 0 {
				return fmt.Errorf("snapshot of %q: %d entries could not be read", abs, n)
			}
			man.Description = "restore-executor snapshot of " + hostPath
			id, err := snapshot.SaveSnapshot(ctx, w, man)
			if err != nil {
				return fmt.Errorf("saving snapshot manifest: %w", err)
			}
			res = SnapshotResult{
				SnapshotEntry: SnapshotEntry{SnapshotID: string(id), HostPath: hostPath},
				Size:          man.Stats.TotalFileSize,
				Files:         int64(man.Stats.TotalFileCount),
			}
			return nil
		})
		if err != nil {
			return nil, classifyRepoError(err)
		}
		res.Uploaded = uploaded.Load()
		logger.Info("Created snapshot", "id", res.SnapshotID, "dir", abs, "hostPath", hostPath, "size", res.Size, "uploaded", res.Uploaded)
		results = append(results, res)
	}
	return results, nil
}

package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"
)

// Adopting snapshots made elsewhere: a kopia repository written by the
// kopia CLI, by Velero's kopia uploader or by anything else that saves
// kopia snapshot manifests holds snapshots this engine restores as they
// are (a SnapshotEntry is a manifest ID and a hostPath). DescribeSnapshots
// reads what a Snapshot object records of them; pkg/executor's
// AdoptSnapshotObject records it.

// SnapshotInfo describes one kopia snapshot manifest in a repository.
type SnapshotInfo struct {
	// ID is the manifest ID, what a SnapshotEntry names.
	ID string
	// Host, User and Path are the snapshot's source: who made it and the
	// directory it was taken of.
	Host, User, Path string
	// Description and Tags as the maker saved them (Velero tags its
	// snapshots with the backup, pod and volume names).
	Description string
	Tags        map[string]string
	StartTime   time.Time
	EndTime     time.Time
	// Size is the snapshot's total file size; Files and Dirs its entries.
	Size  int64
	Files int64
	Dirs  int64
	// Incomplete is kopia's reason when the snapshot was not finished.
	Incomplete string
}

// DescribeSnapshots describes the snapshots ids in rep, or, with no ids,
// every snapshot in it (oldest first). An unknown ID is ErrSnapshotNotFound.
func DescribeSnapshots(ctx context.Context, rep repo.Repository, ids []string) ([]SnapshotInfo, error) {
	var mans []*snapshot.Manifest
	if len(ids) == 0 {
		all, err := snapshot.ListSnapshotManifests(ctx, rep, nil, nil)
		if err != nil {
			return nil, classifyRepoError(fmt.Errorf("listing snapshots: %w", err))
		}
		if mans, err = snapshot.LoadSnapshots(ctx, rep, all); err != nil {
			return nil, classifyRepoError(fmt.Errorf("loading snapshots: %w", err))
		}
		sort.SliceStable(mans, func(i, j int) bool { return mans[i].StartTime.ToTime().Before(mans[j].StartTime.ToTime()) })
	}
	for _, id := range ids {
		m, err := loadSnapshotManifest(ctx, rep, id)
		if err != nil {
			return nil, err
		}
		mans = append(mans, m)
	}
	out := make([]SnapshotInfo, 0, len(mans))
	for _, m := range mans {
		out = append(out, SnapshotInfo{
			ID: string(m.ID), Host: m.Source.Host, User: m.Source.UserName, Path: m.Source.Path,
			Description: m.Description, Tags: m.Tags,
			StartTime: m.StartTime.ToTime(), EndTime: m.EndTime.ToTime(),
			Size: m.Stats.TotalFileSize, Files: int64(m.Stats.TotalFileCount), Dirs: int64(m.Stats.TotalDirectoryCount),
			Incomplete: m.IncompleteReason,
		})
	}
	return out, nil
}

package executor

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
)

// AdoptedComponent is one component of an adopted Snapshot: the kopia
// snapshots it restores, each to its hostPath.
type AdoptedComponent struct {
	Name    string
	Entries []engine.SnapshotEntry
}

// ParseAdoptFlag parses NAME=KOPIA_SNAPSHOT_ID[:HOSTPATH]; an empty
// HOSTPATH is filled in from the kopia snapshot's source path.
func ParseAdoptFlag(s string) (name string, e engine.SnapshotEntry, err error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return "", engine.SnapshotEntry{}, fmt.Errorf("--component %q: want NAME=KOPIA_SNAPSHOT_ID[:HOSTPATH]", s)
	}
	id, host, _ := strings.Cut(rest, ":")
	if id == "" {
		return "", engine.SnapshotEntry{}, fmt.Errorf("--component %q: empty KOPIA_SNAPSHOT_ID", s)
	}
	if host != "" && !strings.HasPrefix(host, "/") {
		return "", engine.SnapshotEntry{}, fmt.Errorf("--component %q: HOSTPATH %q must be absolute", s, host)
	}
	return name, engine.SnapshotEntry{SnapshotID: id, HostPath: host}, nil
}

// AdoptOptions configures AdoptSnapshotObject and ListKopiaSnapshots.
type AdoptOptions struct {
	Namespace  string // of the Repository and the Snapshot
	Repository string
	Name       string // of the Snapshot
	Components []AdoptedComponent
	// LocalStorageDir replaces a local BackupStorage's mountPath.
	LocalStorageDir string
	ScratchDir      string
	// Now is the clock for lastUpdateTime (tests); nil means time.Now.
	Now func() time.Time
}

// openAdoptRepository opens the Repository object's kopia repository
// read-only: adopting never writes to it.
func openAdoptRepository(ctx context.Context, c Clients, o AdoptOptions) (*RepositoryAccess, *engine.Repository, error) {
	acc, err := resolveRepository(ctx, c, o.Namespace, o.Repository, nil, o.LocalStorageDir)
	if err != nil {
		return nil, nil, err
	}
	rep, err := engine.OpenRepository(ctx, engine.RepositoryOptions{Storage: acc.Config, Password: acc.Password, ScratchDir: o.ScratchDir, ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	return acc, rep, nil
}

// ListKopiaSnapshots describes every kopia snapshot in the Repository
// object's kopia repository, for choosing what to adopt.
func ListKopiaSnapshots(ctx context.Context, c Clients, o AdoptOptions) ([]engine.SnapshotInfo, error) {
	if o.Namespace == "" || o.Repository == "" {
		return nil, fmt.Errorf("namespace and repository are required")
	}
	_, rep, err := openAdoptRepository(ctx, c, o)
	if err != nil {
		return nil, err
	}
	defer rep.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	return engine.DescribeSnapshots(ctx, rep, nil)
}

// AdoptSnapshotObject registers kopia snapshots that already exist in the
// Repository object's kopia repository (made by the kopia CLI, Velero's
// kopia uploader or anything else) as the Snapshot object o.Name, one
// component per AdoptedComponent, so that a RestoreSession restores them
// like any Snapshot. Every kopia snapshot must exist and be complete; an
// entry without a hostPath gets its kopia source path. The Snapshot's
// snapshotTime is the newest kopia snapshot's start time.
func AdoptSnapshotObject(ctx context.Context, c Clients, o AdoptOptions) (*storagev1alpha1.Snapshot, error) {
	logger := klog.FromContext(ctx)
	if o.Namespace == "" || o.Repository == "" || o.Name == "" || len(o.Components) == 0 {
		return nil, fmt.Errorf("namespace, repository, name and at least one component are required")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	acc, rep, err := openAdoptRepository(ctx, c, o)
	if err != nil {
		return nil, err
	}
	defer rep.Close(context.WithoutCancel(ctx)) //nolint:errcheck

	status := storagev1alpha1.SnapshotStatus{
		Phase:           storagev1alpha1.SnapshotSucceeded,
		TotalComponents: int32(len(o.Components)),
		Components:      map[string]storagev1alpha1.Component{},
	}
	var total int64
	var newest time.Time
	for _, comp := range o.Components {
		ids := make([]string, len(comp.Entries))
		for i, e := range comp.Entries {
			ids[i] = e.SnapshotID
		}
		infos, err := engine.DescribeSnapshots(ctx, rep, ids)
		if err != nil {
			return nil, fmt.Errorf("component %q: %w", comp.Name, err)
		}
		var size int64
		var stats []storagev1alpha1.KopiaStats
		var took time.Duration
		for i, info := range infos {
			if info.Incomplete != "" {
				return nil, fmt.Errorf("component %q: kopia snapshot %s is incomplete (%s)", comp.Name, info.ID, info.Incomplete)
			}
			host := comp.Entries[i].HostPath
			if host == "" {
				host = info.Path
			}
			size += info.Size
			took += info.EndTime.Sub(info.StartTime)
			if info.StartTime.After(newest) {
				newest = info.StartTime
			}
			stats = append(stats, storagev1alpha1.KopiaStats{SnapshotID: info.ID, HostPath: host, Size: FormatBytes(info.Size)})
			logger.Info("Adopting kopia snapshot", "component", comp.Name, "id", info.ID, "source", info.User+"@"+info.Host+":"+info.Path,
				"hostPath", host, "size", info.Size, "files", info.Files)
		}
		total += size
		status.Components[comp.Name] = storagev1alpha1.Component{
			Path:       "repository/v1/" + o.Name + "/" + comp.Name,
			Phase:      storagev1alpha1.SnapshotSucceeded,
			Size:       FormatBytes(size),
			Duration:   formatDuration(took),
			Driver:     storagev1alpha1.DriverKopia,
			KopiaStats: stats,
		}
	}
	status.Size = FormatBytes(total)
	t := metav1.NewTime(newest)
	status.SnapshotTime = &t
	lu := metav1.NewTime(now())
	status.LastUpdateTime = &lu
	return recordSnapshot(ctx, c, acc.Repository, o.Name, status)
}

package executor

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
)

// ComponentSources are the directories of one Snapshot component.
type ComponentSources struct {
	Name    string
	Sources []engine.SnapshotSource
}

// ParseComponentFlag parses NAME=DIR[:HOSTPATH].
func ParseComponentFlag(s string) (name string, src engine.SnapshotSource, err error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return "", engine.SnapshotSource{}, fmt.Errorf("component %q: want NAME=DIR[:HOSTPATH]", s)
	}
	dir, host, _ := strings.Cut(rest, ":")
	if dir == "" {
		return "", engine.SnapshotSource{}, fmt.Errorf("component %q: empty DIR", s)
	}
	return name, engine.SnapshotSource{Dir: dir, HostPath: host}, nil
}

// SnapshotObjectOptions configures CreateSnapshotObject.
type SnapshotObjectOptions struct {
	Namespace  string // of the Repository and the Snapshot
	Repository string
	Name       string // of the Snapshot
	Components []ComponentSources
	// LocalStorageDir replaces a local BackupStorage's mountPath.
	LocalStorageDir string
	ScratchDir      string
	// Now is the clock for snapshotTime (tests); nil means time.Now.
	Now func() time.Time
}

// CreateSnapshotObject snapshots each component's directories into the
// Repository's kopia repository (initialising it when the storage holds
// none) and creates or updates the Snapshot object with a Succeeded status
// listing each component's kopiaStats.
func CreateSnapshotObject(ctx context.Context, c Clients, o SnapshotObjectOptions) (*storagev1alpha1.Snapshot, error) {
	logger := klog.FromContext(ctx)
	if o.Namespace == "" || o.Repository == "" || o.Name == "" || len(o.Components) == 0 {
		return nil, fmt.Errorf("namespace, repository, name and at least one component are required")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	acc, err := resolveRepository(ctx, c, o.Namespace, o.Repository, nil, o.LocalStorageDir)
	if err != nil {
		return nil, err
	}
	rep, err := engine.OpenRepository(ctx, engine.RepositoryOptions{Storage: acc.Config, Password: acc.Password, ScratchDir: o.ScratchDir, Create: true})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := rep.Close(context.WithoutCancel(ctx)); err != nil {
			logger.Error(err, "Closing the repository")
		}
	}()

	start := now()
	status := storagev1alpha1.SnapshotStatus{
		Phase:           storagev1alpha1.SnapshotSucceeded,
		TotalComponents: int32(len(o.Components)),
		Components:      map[string]storagev1alpha1.Component{},
	}
	var total int64
	for _, comp := range o.Components {
		cstart := now()
		results, err := engine.CreateSnapshots(ctx, rep, comp.Sources)
		if err != nil {
			return nil, fmt.Errorf("component %q: %w", comp.Name, err)
		}
		var size int64
		var paths []string
		var stats []storagev1alpha1.KopiaStats
		for _, r := range results {
			size += r.Size
			paths = append(paths, r.HostPath)
			stats = append(stats, storagev1alpha1.KopiaStats{
				SnapshotID: r.SnapshotID, HostPath: r.HostPath,
				Size: FormatBytes(r.Size), Uploaded: FormatBytes(r.Uploaded),
			})
		}
		total += size
		status.Components[comp.Name] = storagev1alpha1.Component{
			Path:       "repository/v1/" + o.Name + "/" + comp.Name,
			Phase:      storagev1alpha1.SnapshotSucceeded,
			Size:       FormatBytes(size),
			Duration:   formatDuration(now().Sub(cstart)),
			Driver:     storagev1alpha1.DriverKopia,
			KopiaStats: stats,
		}
		logger.Info("Snapshotted component", "component", comp.Name, "paths", paths, "size", size)
	}
	status.Size = FormatBytes(total)
	t := metav1.NewTime(start)
	status.SnapshotTime = &t
	lu := metav1.NewTime(now())
	status.LastUpdateTime = &lu
	return recordSnapshot(ctx, c, acc.Repository, o.Name, status)
}

// recordSnapshot creates or updates the Snapshot name of repository, with
// KubeStash's labels and spec, and sets its status.
func recordSnapshot(ctx context.Context, c Clients, repository *storagev1alpha1.Repository, name string, status storagev1alpha1.SnapshotStatus) (*storagev1alpha1.Snapshot, error) {
	namespace := repository.Namespace
	labels := map[string]string{storagev1alpha1.LabelRepoName: repository.Name}
	spec := storagev1alpha1.SnapshotSpec{Repository: repository.Name, Type: "FullBackup"}
	if ref := repository.Spec.AppRef; ref != nil {
		labels[storagev1alpha1.LabelAppRefKind] = ref.Kind
		labels[storagev1alpha1.LabelAppRefNamespace] = orDefault(ref.Namespace, repository.Namespace)
		labels[storagev1alpha1.LabelAppRefName] = ref.Name
		r := *ref
		spec.AppRef = &r
	}

	snaps := c.Restore.StorageV1alpha1().Snapshots(namespace)
	obj := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec:       spec,
	}
	cur, err := snaps.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, err = snaps.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			cur = cur.DeepCopy()
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			for k, v := range labels {
				cur.Labels[k] = v
			}
			cur.Spec = spec
			cur, err = snaps.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating Snapshot %s/%s: %w", namespace, name, err)
	}
	cur = cur.DeepCopy()
	cur.Status = status
	cur, err = snaps.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating status of Snapshot %s/%s: %w", namespace, name, err)
	}
	return cur, nil
}

package refs

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

// Lookup reads the objects that references point to. A missing object is
// reported with an error for which apierrors.IsNotFound is true. The
// controller implements it with its informers' listers.
type Lookup interface {
	Repository(ctx context.Context, namespace, name string) (*storagev1alpha1.Repository, error)
	Snapshot(ctx context.Context, namespace, name string) (*storagev1alpha1.Snapshot, error)
	Snapshots(ctx context.Context, namespace string, selector labels.Selector) ([]*storagev1alpha1.Snapshot, error)
	BackupStorage(ctx context.Context, namespace, name string) (*storagev1alpha1.BackupStorage, error)
	HookTemplate(ctx context.Context, namespace, name string) (*corev1alpha1.HookTemplate, error)
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// Resolver resolves a RestoreSession's references through a Lookup.
type Resolver struct {
	Lookup Lookup
}

// Resolution is what a RestoreSession's data source resolves to. An object
// is set only when it was found; the Storage and the Secrets only when the
// RestoreSession may use them.
type Resolution struct {
	Repository *storagev1alpha1.Repository
	// Snapshot is the named Snapshot, or for "latest" the one chosen.
	Snapshot *storagev1alpha1.Snapshot
	Storage  *storagev1alpha1.BackupStorage
	// EncryptionSecret and StorageSecret are the Secrets the executor may
	// read (StorageSecret is nil for a storage without credentials).
	EncryptionSecret *Ref
	StorageSecret    *Ref

	// Errors are the user's: each names the field and what is wrong.
	Errors field.ErrorList
	// Dependencies are the objects looked for, found or not, for
	// status.dependencies.
	Dependencies []corev1alpha1.ResourceFoundStatus
}

var storageGroup = storagev1alpha1.SchemeGroupVersion.Group

func (res *Resolution) dependency(kind string, ref Ref, found bool) {
	res.Dependencies = append(res.Dependencies, corev1alpha1.ResourceFoundStatus{
		APIGroup: storageGroup, Kind: kind, Namespace: ref.Namespace, Name: ref.Name, Found: found,
	})
}

// Resolve resolves the data source of rs: its Repository, Snapshot
// ("latest" is resolved unless pinnedSnapshot names the Snapshot chosen
// before), BackupStorage and Secrets, and checks the owners' consent:
//
//   - A Repository (and its Snapshots) in another namespace than the
//     RestoreSession's may be used only when the usagePolicy of its
//     BackupStorage allows the RestoreSession's namespace. The BackupStorage
//     must allow the Repository's namespace too (KubeStash's rule).
//   - The BackupStorage's credentials Secret is read only under that same
//     consent.
//   - An encryption Secret in another namespace than the RestoreSession's
//     may be read only when it is the Repository's own encryption Secret,
//     in the Repository's namespace, under that consent. A Repository
//     cannot point the executor at a third namespace's Secret.
//   - A restore that reads no repository data (ReadsRepositoryData: a
//     volume snapshot restore) gets neither Secret and needs none.
//
// Only API failures a retry can fix are returned as error; the user's
// mistakes are in the Resolution's Errors.
func (r Resolver) Resolve(ctx context.Context, rs *corev1alpha1.RestoreSession, pinnedSnapshot string) (*Resolution, error) {
	res := &Resolution{}
	ds := rs.Spec.DataSource
	dsPath := field.NewPath("spec", "dataSource")
	repoPath := dsPath.Child("repository")
	ns := DataNamespace(rs)

	if ds.Repository != "" {
		repo, err := r.Lookup.Repository(ctx, ns, ds.Repository)
		switch {
		case apierrors.IsNotFound(err):
			res.Errors = append(res.Errors, field.Invalid(repoPath, ds.Repository, fmt.Sprintf("Repository %s/%s not found", ns, ds.Repository)))
			res.dependency("Repository", Ref{ns, ds.Repository}, false)
		case err != nil:
			return nil, err
		default:
			res.Repository = repo
		}
	}

	if err := r.resolveSnapshot(ctx, rs, pinnedSnapshot, res); err != nil {
		return nil, err
	}

	repo := res.Repository
	if repo == nil {
		return res, nil
	}
	res.dependency("Repository", Ref{repo.Namespace, repo.Name}, true)
	storageRef := StorageOf(repo)
	bs, err := r.Lookup.BackupStorage(ctx, storageRef.Namespace, storageRef.Name)
	switch {
	case apierrors.IsNotFound(err):
		res.Errors = append(res.Errors, field.Invalid(repoPath, repo.Name, fmt.Sprintf("BackupStorage %s of the Repository not found", storageRef)))
		res.dependency("BackupStorage", storageRef, false)
	case err != nil:
		return nil, err
	default:
		res.dependency("BackupStorage", storageRef, true)
		consent, err := r.checkStorageConsent(ctx, rs, repo, bs, repoPath)
		if err != nil {
			return nil, err
		}
		if consent != nil {
			res.Errors = append(res.Errors, consent)
		} else {
			res.Storage = bs
			if ref, ok := StorageSecret(bs); ok && ReadsRepositoryData(rs) {
				res.StorageSecret = &ref
			}
		}
	}

	// A restore that reads no data needs no Secret: none is required,
	// checked or granted.
	if ReadsRepositoryData(rs) {
		res.checkEncryptionSecret(rs, dsPath.Child("encryptionSecret"))
	}
	return res, nil
}

// resolveSnapshot finds the Snapshot, and the Repository through it when
// the RestoreSession names none.
func (r Resolver) resolveSnapshot(ctx context.Context, rs *corev1alpha1.RestoreSession, pinned string, res *Resolution) error {
	ds := rs.Spec.DataSource
	ns := DataNamespace(rs)
	snapPath := field.NewPath("spec", "dataSource", "snapshot")
	name := ds.Snapshot
	if pinned != "" {
		name = pinned
	}
	if name == corev1alpha1.SnapshotLatest {
		snap, err := r.LatestSnapshot(ctx, ns, ds.Repository)
		if err != nil {
			return err
		}
		if snap == nil {
			res.Errors = append(res.Errors, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Repository %s/%s has no Succeeded Snapshot", ns, ds.Repository)))
			res.dependency("Snapshot", Ref{ns, ds.Snapshot}, false)
			return nil
		}
		res.Snapshot = snap
	} else {
		snap, err := r.Lookup.Snapshot(ctx, ns, name)
		switch {
		case apierrors.IsNotFound(err):
			res.Errors = append(res.Errors, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Snapshot %s/%s not found", ns, name)))
			res.dependency("Snapshot", Ref{ns, name}, false)
			return nil
		case err != nil:
			return err
		}
		res.Snapshot = snap
	}
	snap := res.Snapshot
	// The found Snapshot leads the dependencies: it is the one recorded
	// for later syncs (see ResolvedSnapshotName).
	res.Dependencies = append([]corev1alpha1.ResourceFoundStatus{{APIGroup: storageGroup, Kind: "Snapshot", Namespace: ns, Name: snap.Name, Found: true}}, res.Dependencies...)
	if ds.Repository == "" && snap.Spec.Repository != "" {
		repo, err := r.Lookup.Repository(ctx, ns, snap.Spec.Repository)
		switch {
		case apierrors.IsNotFound(err):
			res.Errors = append(res.Errors, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Repository %s/%s of the Snapshot not found", ns, snap.Spec.Repository)))
			res.dependency("Repository", Ref{ns, snap.Spec.Repository}, false)
		case err != nil:
			return err
		default:
			res.Repository = repo
		}
	}
	return nil
}

// LatestSnapshot is the Succeeded Snapshot of the Repository with the
// newest snapshotTime; ties go to the greater name, so the choice is
// stable. Nil when there is none.
func (r Resolver) LatestSnapshot(ctx context.Context, namespace, repository string) (*storagev1alpha1.Snapshot, error) {
	selector := labels.SelectorFromSet(labels.Set{storagev1alpha1.LabelRepoName: repository})
	snaps, err := r.Lookup.Snapshots(ctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	var latest *storagev1alpha1.Snapshot
	for _, snap := range snaps {
		if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded || snap.Status.SnapshotTime == nil || snap.Spec.Repository != repository {
			continue
		}
		if latest == nil || latest.Status.SnapshotTime.Before(snap.Status.SnapshotTime) ||
			(latest.Status.SnapshotTime.Equal(snap.Status.SnapshotTime) && snap.Name > latest.Name) {
			latest = snap
		}
	}
	return latest, nil
}

// ResolvedSnapshotName is the Snapshot validation settled on, as recorded
// in status.dependencies: for "latest", the concrete Snapshot chosen then.
func ResolvedSnapshotName(rs *corev1alpha1.RestoreSession) string {
	for _, d := range rs.Status.Dependencies {
		if d.Kind == "Snapshot" && d.Found {
			return d.Name
		}
	}
	if rs.Spec.DataSource.Snapshot != corev1alpha1.SnapshotLatest {
		return rs.Spec.DataSource.Snapshot
	}
	return ""
}

// checkStorageConsent returns the user's error when the BackupStorage's
// usagePolicy does not allow the Repository's namespace, or, for a
// Repository in another namespace than the RestoreSession's, the
// RestoreSession's namespace.
func (r Resolver) checkStorageConsent(ctx context.Context, rs *corev1alpha1.RestoreSession, repo *storagev1alpha1.Repository, bs *storagev1alpha1.BackupStorage, path *field.Path) (*field.Error, error) {
	policy := bs.Spec.UsagePolicy
	ok, err := r.allows(ctx, policy, bs.Namespace, repo.Namespace)
	if err != nil {
		return nil, err
	}
	if !ok {
		return field.Invalid(path, repo.Name, fmt.Sprintf("the usagePolicy of BackupStorage %s/%s does not allow namespace %q (%s)",
			bs.Namespace, bs.Name, repo.Namespace, describeFrom(policy))), nil
	}
	if repo.Namespace == rs.Namespace {
		return nil, nil
	}
	ok, err = r.allows(ctx, policy, bs.Namespace, rs.Namespace)
	if err != nil {
		return nil, err
	}
	if !ok {
		return field.Forbidden(path, fmt.Sprintf("Repository %s/%s is in another namespace, and the usagePolicy of its BackupStorage %s/%s (%s) does not allow the RestoreSession's namespace %q: a Repository of another namespace is usable only where its BackupStorage allows the restoring namespace",
			repo.Namespace, repo.Name, bs.Namespace, bs.Name, describeFrom(policy), rs.Namespace)), nil
	}
	return nil, nil
}

// checkEncryptionSecret decides which encryption Secret the executor may
// read. It runs after the storage consent was decided (res.Storage is set
// only with consent).
func (res *Resolution) checkEncryptionSecret(rs *corev1alpha1.RestoreSession, path *field.Path) {
	repo := res.Repository
	ref, ok := EncryptionSecret(rs, repo)
	if !ok {
		if repo != nil {
			res.Errors = append(res.Errors, field.Required(path,
				fmt.Sprintf("neither the RestoreSession nor Repository %s/%s names an encryption Secret", repo.Namespace, repo.Name)))
		}
		return
	}
	if ref.Namespace == rs.Namespace {
		res.EncryptionSecret = &ref
		return
	}
	own, isOwn := RepositoryEncryptionSecret(repo)
	switch {
	case repo == nil:
		// The Repository's problem is reported already; without it no
		// Secret of another namespace can be vouched for.
		return
	case !isOwn || own != ref || ref.Namespace != repo.Namespace:
		res.Errors = append(res.Errors, field.Forbidden(path, fmt.Sprintf(
			"Secret %s is in another namespace than the RestoreSession (%q) and is not the encryption Secret of Repository %s/%s in the Repository's own namespace: a Secret of another namespace is read only as its Repository's own encryptionSecret",
			ref, rs.Namespace, repo.Namespace, repo.Name)))
	case res.Storage == nil:
		// Without the BackupStorage's consent (reported above) the
		// Repository's Secret is not readable either.
	default:
		res.EncryptionSecret = &ref
	}
}

// HookTemplate reads the HookTemplate of a hook and checks that its
// usagePolicy admits the RestoreSession's namespace (a template of the
// RestoreSession's own namespace always does). refusal explains a
// refusal; a missing template is an error for which apierrors.IsNotFound
// is true.
func (r Resolver) HookTemplate(ctx context.Context, rs *corev1alpha1.RestoreSession, hook corev1alpha1.HookInfo) (tmpl *corev1alpha1.HookTemplate, refusal string, err error) {
	ref := HookTemplate(rs, hook)
	tmpl, err = r.Lookup.HookTemplate(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return nil, "", err
	}
	ok, err := r.allows(ctx, tmpl.Spec.UsagePolicy, tmpl.Namespace, rs.Namespace)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		refusal = fmt.Sprintf("the usagePolicy of HookTemplate %s/%s (%s) does not allow namespace %q",
			tmpl.Namespace, tmpl.Name, describeFrom(tmpl.Spec.UsagePolicy), rs.Namespace)
	}
	return tmpl, refusal, nil
}

// allows evaluates a usage policy, reading the namespace's labels only when
// a Selector policy needs them.
func (r Resolver) allows(ctx context.Context, policy *common.UsagePolicy, ownerNamespace, namespace string) (bool, error) {
	var nsLabels labels.Set
	if needsNamespaceLabels(policy, ownerNamespace, namespace) {
		n, err := r.Lookup.Namespace(ctx, namespace)
		if err != nil {
			return false, fmt.Errorf("reading namespace %s for a usage policy: %w", namespace, err)
		}
		nsLabels = n.Labels
	}
	return usagePolicyAllows(policy, ownerNamespace, namespace, nsLabels), nil
}

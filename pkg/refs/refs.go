// Package refs is the one place that decides which objects a RestoreSession
// refers to and whether it may use them.
//
// A RestoreSession names a Repository and Snapshot (possibly in another
// namespace), through them a BackupStorage and its credentials Secret, an
// encryption Secret, HookTemplates and, for a manifest restore, a namespace
// to create objects in. Every one of these is read by the controller and,
// through the grants the controller gives it, by the restore executor, so
// the controller's validation, its dependency index, the executor's RBAC
// grants and the executor itself must agree on where each object lives.
// They all ask this package.
//
// The security rule it enforces: a RestoreSession may read or write outside
// its own namespace only where the owner of the other namespace consented
// (see Resolver.Resolve and the consent functions). Admission
// (artifacts/admission) adds the second half, that the user who created
// the RestoreSession could do the same themselves; the controller cannot
// know that user, so this package checks consent only.
package refs

import (
	"fmt"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
)

// Kinds of restore target (spec.target.kind): the apps workloads in API
// group "apps" and a PersistentVolumeClaim in the core group.
const (
	KindStatefulSet           = "StatefulSet"
	KindDeployment            = "Deployment"
	KindDaemonSet             = "DaemonSet"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
)

// TargetGroup is the API group of a target as the controller reads it:
// like KubeStash, it takes a StatefulSet, Deployment or DaemonSet with an
// empty apiGroup as one of group apps (the schema accepts both spellings).
// Every reader of a target's group goes through here, so both spellings
// name the same object.
func TargetGroup(t *common.TypedObjectReference) string {
	if t.APIGroup == "" && (t.Kind == KindStatefulSet || t.Kind == KindDeployment || t.Kind == KindDaemonSet) {
		return appsGroup
	}
	return t.APIGroup
}

// appsGroup is the API group of the workload targets.
const appsGroup = "apps"

// Ref is a namespaced object's namespace and name.
type Ref struct {
	Namespace, Name string
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// resolve defaults the namespace of an ObjectReference to the namespace of
// the object that holds the reference.
func resolve(ref common.ObjectReference, holderNamespace string) Ref {
	if ref.Namespace == "" {
		return Ref{holderNamespace, ref.Name}
	}
	return Ref{ref.Namespace, ref.Name}
}

// DataNamespace is where the RestoreSession's Repository and Snapshot live:
// spec.dataSource.namespace, else the RestoreSession's own namespace.
func DataNamespace(rs *corev1alpha1.RestoreSession) string {
	if rs.Spec.DataSource.Namespace != "" {
		return rs.Spec.DataSource.Namespace
	}
	return rs.Namespace
}

// TargetNamespace is the namespace of the restore target.
func TargetNamespace(rs *corev1alpha1.RestoreSession) string {
	if rs.Spec.Target != nil && rs.Spec.Target.Namespace != "" {
		return rs.Spec.Target.Namespace
	}
	return rs.Namespace
}

// RepositoryName is the Repository restored from: spec.dataSource.repository,
// else the named Snapshot's repository (snap may be nil).
func RepositoryName(rs *corev1alpha1.RestoreSession, snap *storagev1alpha1.Snapshot) string {
	if rs.Spec.DataSource.Repository != "" {
		return rs.Spec.DataSource.Repository
	}
	if snap != nil {
		return snap.Spec.Repository
	}
	return ""
}

// StorageOf is the BackupStorage a Repository keeps its data in.
func StorageOf(repo *storagev1alpha1.Repository) Ref {
	return resolve(repo.Spec.StorageRef, repo.Namespace)
}

// ReadsRepositoryData reports whether the restore reads data from its
// Repository's storage. Every restore does except a volume snapshot
// restore (a task invocation.RestoresVolumeSnapshots names): its tasks
// create claims from the CSI VolumeSnapshots the Snapshot's status names,
// and a Snapshot of VolumeSnapshotter components is all they restore. A
// restore that reads no data needs neither the encryption Secret nor the
// storage's credentials, nor the storage in its Jobs.
func ReadsRepositoryData(rs *corev1alpha1.RestoreSession) bool {
	for _, t := range rs.Spec.Addon.Tasks {
		if invocation.RestoresVolumeSnapshots(t.Name) {
			return false
		}
	}
	return true
}

// RepositoryEncryptionSecret is the Repository's own encryption Secret.
func RepositoryEncryptionSecret(repo *storagev1alpha1.Repository) (Ref, bool) {
	if repo == nil || repo.Spec.EncryptionSecret == nil || repo.Spec.EncryptionSecret.Name == "" {
		return Ref{}, false
	}
	return resolve(*repo.Spec.EncryptionSecret, repo.Namespace), true
}

// EncryptionSecret is the Secret the repository is decrypted with: the
// RestoreSession's spec.dataSource.encryptionSecret (its namespace defaults
// to the RestoreSession's), else the Repository's own (repo may be nil).
// Whether the RestoreSession may read it is CheckEncryptionSecret's
// question.
func EncryptionSecret(rs *corev1alpha1.RestoreSession, repo *storagev1alpha1.Repository) (Ref, bool) {
	if ref := rs.Spec.DataSource.EncryptionSecret; ref != nil && ref.Name != "" {
		return resolve(*ref, rs.Namespace), true
	}
	return RepositoryEncryptionSecret(repo)
}

// StorageSecret is the credentials Secret of a BackupStorage, always in the
// BackupStorage's own namespace: the secretName of the block its provider
// names (admission allows no other block). None when that block names no
// Secret: the executor then uses ambient credentials (s3: none; gcs:
// application-default credentials; azure: workload identity).
func StorageSecret(bs *storagev1alpha1.BackupStorage) (Ref, bool) {
	st := bs.Spec.Storage
	var name string
	switch {
	case st.S3 != nil && (st.Provider == storagev1alpha1.ProviderS3 || st.Provider == ""):
		name = st.S3.SecretName
	case st.GCS != nil && (st.Provider == storagev1alpha1.ProviderGCS || st.Provider == ""):
		name = st.GCS.SecretName
	case st.Azure != nil && (st.Provider == storagev1alpha1.ProviderAzure || st.Provider == ""):
		name = st.Azure.SecretName
	}
	if name == "" {
		return Ref{}, false
	}
	return Ref{bs.Namespace, name}, true
}

// HookTemplate is the HookTemplate a hook runs; its namespace defaults to
// the RestoreSession's.
func HookTemplate(rs *corev1alpha1.RestoreSession, hook corev1alpha1.HookInfo) Ref {
	return resolve(hook.HookTemplate, rs.Namespace)
}

// RestoreNamespace is the namespace a manifest restore creates objects in
// ("" when unset): spec.manifestOptions.restoreNamespace or a database's
// restoreNamespace (manifest.RestoreNamespace). Validation refuses a
// RestoreSession naming two, so the consent given for this one covers
// every object the restore creates.
func RestoreNamespace(rs *corev1alpha1.RestoreSession) string {
	return manifest.RestoreNamespace(rs.Spec.ManifestOptions)
}

// describeFrom names a usage policy's setting for messages.
func describeFrom(policy *common.UsagePolicy) string {
	if policy == nil || policy.AllowedNamespaces.From == nil {
		return "allowedNamespaces.from unset, i.e. Same"
	}
	return fmt.Sprintf("allowedNamespaces.from: %s", *policy.AllowedNamespaces.From)
}

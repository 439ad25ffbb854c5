package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/pkg/refs"
)

// Clients are the API clients of the Kubernetes-facing layer. The executor
// only GETs named objects: its Job's Role is restricted by resourceNames.
type Clients struct {
	Kube    kubernetes.Interface
	Restore versioned.Interface
}

// Messages of the Secrets the executor cannot read; the restore engine's
// own are engine.Err*. Callers match the sentinels with errors.Is; the
// strings are what users read in status.components[<name>].error.
const (
	msgMissingSecret    = "secret not found"
	msgMissingSecretKey = "secret has no such key"
)

var (
	// ErrMissingSecret and ErrMissingSecretKey: a Secret the executor needs
	// is absent or lacks the expected key.
	ErrMissingSecret    = errors.New(msgMissingSecret)
	ErrMissingSecretKey = errors.New(msgMissingSecretKey)
)

// getSecret reads a Secret and the first present of keys.
func getSecret(ctx context.Context, c Clients, namespace, name string, keys ...string) (*corev1.Secret, string, error) {
	s, err := c.Kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("%w: Secret %s/%s", ErrMissingSecret, namespace, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("getting Secret %s/%s: %w", namespace, name, err)
	}
	for _, k := range keys {
		if v, ok := s.Data[k]; ok && len(v) > 0 {
			return s, string(v), nil
		}
	}
	if len(keys) == 0 {
		return s, "", nil
	}
	return nil, "", fmt.Errorf("%w: Secret %s/%s has no key %q", ErrMissingSecretKey, namespace, name, keysString(keys))
}

func keysString(keys []string) string {
	if len(keys) == 1 {
		return keys[0]
	}
	s := keys[0]
	for _, k := range keys[1:] {
		s += " or " + k
	}
	return s
}

func orDefault(ns, def string) string {
	if ns != "" {
		return ns
	}
	return def
}

// RepositoryAccess is what reaching a Repository's kopia repository needs.
type RepositoryAccess struct {
	Repository *storagev1alpha1.Repository
	Storage    *storagev1alpha1.BackupStorage
	Config     engine.StorageConfig
	Password   string
	// PasswordSource says where Password comes from (the key of the
	// Secret), for an error of a password that does not open the
	// repository.
	PasswordSource string
}

// resolveRepository reads the Repository, its BackupStorage, the encryption
// Secret (the RestoreSession's when rs names one, else the Repository's;
// rs may be nil) and the storage credentials, where refs says they are.
// localStorageDir, when set, replaces a local BackupStorage's mountPath
// (running outside the Job).
func resolveRepository(ctx context.Context, c Clients, namespace, name string, rs *corev1alpha1.RestoreSession, localStorageDir string) (*RepositoryAccess, error) {
	repository, err := c.Restore.StorageV1alpha1().Repositories(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting Repository %s/%s: %w", namespace, name, err)
	}
	stRef := refs.StorageOf(repository)
	stNS := stRef.Namespace
	storage, err := c.Restore.StorageV1alpha1().BackupStorages(stNS).Get(ctx, stRef.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting BackupStorage %s of Repository %s/%s: %w", stRef, namespace, name, err)
	}

	ref, ok := refs.RepositoryEncryptionSecret(repository)
	if rs != nil {
		ref, ok = refs.EncryptionSecret(rs, repository)
	}
	if !ok {
		return nil, fmt.Errorf("%w: neither the RestoreSession nor Repository %s/%s names an encryption secret", ErrMissingSecret, namespace, name)
	}
	secret, password, err := getSecret(ctx, c, ref.Namespace, ref.Name, storagev1alpha1.EncryptionKeyKopia, storagev1alpha1.EncryptionKeyRestic)
	if err != nil {
		return nil, err
	}
	key := storagev1alpha1.EncryptionKeyRestic
	if len(secret.Data[storagev1alpha1.EncryptionKeyKopia]) > 0 {
		key = storagev1alpha1.EncryptionKeyKopia
	}

	acc := &RepositoryAccess{Repository: repository, Storage: storage, Password: password,
		PasswordSource: fmt.Sprintf("key %q of Secret %s/%s", key, ref.Namespace, ref.Name)}
	b := storage.Spec.Storage
	switch {
	case b.Provider == storagev1alpha1.ProviderLocal || (b.Provider == "" && b.Local != nil):
		if b.Local == nil {
			return nil, fmt.Errorf("BackupStorage %s/%s: provider local without spec.storage.local", stNS, storage.Name)
		}
		base := b.Local.MountPath
		if localStorageDir != "" {
			base = localStorageDir
		}
		if base == "" {
			return nil, fmt.Errorf("BackupStorage %s/%s: local storage has no mountPath", stNS, storage.Name)
		}
		acc.Config.Local = &engine.LocalStorage{Path: filepath.Join(base, repository.Spec.Path)}
	case b.Provider == storagev1alpha1.ProviderS3 || (b.Provider == "" && b.S3 != nil):
		if b.S3 == nil {
			return nil, fmt.Errorf("BackupStorage %s/%s: provider s3 without spec.storage.s3", stNS, storage.Name)
		}
		s3 := &engine.S3Storage{
			Endpoint: b.S3.Endpoint, Bucket: b.S3.Bucket, Region: b.S3.Region,
			Prefix: engine.ObjectPrefix(b.S3.Prefix, repository.Spec.Path), InsecureTLS: b.S3.InsecureTLS,
		}
		// Without a Secret: the pod's ambient AWS credentials (IRSA,
		// instance profile, AWS_* variables from runtimeSettings).
		if secretRef, ok := refs.StorageSecret(storage); ok {
			data, err := storageSecretKeys(ctx, c, secretRef, storagev1alpha1.S3AccessKeyIDKey, storagev1alpha1.S3SecretAccessKeyKey)
			if err != nil {
				return nil, err
			}
			s3.AccessKeyID = string(data[storagev1alpha1.S3AccessKeyIDKey])
			s3.SecretAccessKey = string(data[storagev1alpha1.S3SecretAccessKeyKey])
			s3.SessionToken = string(data[storagev1alpha1.S3SessionTokenKey])
			s3.CACert = data[storagev1alpha1.S3CACertDataKey]
		}
		acc.Config.S3 = s3
	case b.Provider == storagev1alpha1.ProviderGCS:
		if b.GCS == nil {
			return nil, fmt.Errorf("BackupStorage %s/%s: provider gcs without spec.storage.gcs", stNS, storage.Name)
		}
		gcs := &engine.GCSStorage{
			Bucket: b.GCS.Bucket, Prefix: engine.ObjectPrefix(b.GCS.Prefix, repository.Spec.Path),
			MaxConnections: int(b.GCS.MaxConnections),
		}
		// Without a Secret: Google application-default credentials.
		if secretRef, ok := refs.StorageSecret(storage); ok {
			data, err := storageSecretKeys(ctx, c, secretRef, storagev1alpha1.GCSServiceAccountJSONKey)
			if err != nil {
				return nil, err
			}
			gcs.ServiceAccountJSON = data[storagev1alpha1.GCSServiceAccountJSONKey]
		}
		acc.Config.GCS = gcs
	case b.Provider == storagev1alpha1.ProviderAzure:
		if b.Azure == nil {
			return nil, fmt.Errorf("BackupStorage %s/%s: provider azure without spec.storage.azure", stNS, storage.Name)
		}
		az := &engine.AzureStorage{
			StorageAccount: b.Azure.StorageAccount, Container: b.Azure.Container,
			Prefix:        engine.ObjectPrefix(b.Azure.Prefix, repository.Spec.Path),
			StorageDomain: b.Azure.StorageDomain, MaxConnections: int(b.Azure.MaxConnections),
		}
		if secretRef, ok := refs.StorageSecret(storage); ok {
			data, err := storageSecretKeys(ctx, c, secretRef, storagev1alpha1.AzureAccountKeyKey)
			if err != nil {
				return nil, err
			}
			az.AccountKey = string(data[storagev1alpha1.AzureAccountKeyKey])
		} else {
			// Workload identity, as its webhook injects it into the pod.
			az.TenantID = os.Getenv(envAzureTenantID)
			az.ClientID = os.Getenv(envAzureClientID)
			az.FederatedTokenFile = os.Getenv(envAzureFederatedTokenFile)
		}
		acc.Config.Azure = az
	default:
		return nil, fmt.Errorf("BackupStorage %s/%s: unsupported provider %q", stNS, storage.Name, b.Provider)
	}
	return acc, nil
}

// The variables the Azure workload identity webhook injects into pods
// whose service account is annotated with a client ID.
const (
	envAzureTenantID           = "AZURE_TENANT_ID"
	envAzureClientID           = "AZURE_CLIENT_ID"
	envAzureFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// storageSecretKeys reads a BackupStorage's credentials Secret; each of
// keys must be present and non-empty.
func storageSecretKeys(ctx context.Context, c Clients, ref refs.Ref, keys ...string) (map[string][]byte, error) {
	sec, _, err := getSecret(ctx, c, ref.Namespace, ref.Name)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if len(sec.Data[k]) == 0 {
			return nil, fmt.Errorf("%w: Secret %s has no key %q", ErrMissingSecretKey, ref, k)
		}
	}
	return sec.Data, nil
}

// RestoreInputs is everything the restore of one component reads from the API.
type RestoreInputs struct {
	Session  *corev1alpha1.RestoreSession
	Snapshot *storagev1alpha1.Snapshot
	RepositoryAccess
	Entries []engine.SnapshotEntry
}

// ResolveRestoreInputs GETs the RestoreSession, the Snapshot, the
// Repository, its BackupStorage and the Secrets for one component.
func ResolveRestoreInputs(ctx context.Context, c Clients, namespace, session, component, snapshotName, localStorageDir string) (*RestoreInputs, error) {
	if snapshotName == "" || snapshotName == corev1alpha1.SnapshotLatest {
		return nil, fmt.Errorf("snapshot %q: the executor needs a resolved Snapshot name", snapshotName)
	}
	rs, err := c.Restore.CoreV1alpha1().RestoreSessions(namespace).Get(ctx, session, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting RestoreSession %s/%s: %w", namespace, session, err)
	}
	dataNS := refs.DataNamespace(rs)
	snap, err := c.Restore.StorageV1alpha1().Snapshots(dataNS).Get(ctx, snapshotName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting Snapshot %s/%s: %w", dataNS, snapshotName, err)
	}
	comp, ok := snap.Status.Components[component]
	if !ok {
		return nil, fmt.Errorf("Snapshot %s/%s has no component %q", dataNS, snapshotName, component)
	}
	if comp.Driver != "" && comp.Driver != storagev1alpha1.DriverKopia {
		return nil, fmt.Errorf("Snapshot %s/%s component %q has driver %q; the executor restores %q", dataNS, snapshotName, component, comp.Driver, storagev1alpha1.DriverKopia)
	}
	if len(comp.KopiaStats) == 0 {
		return nil, fmt.Errorf("Snapshot %s/%s component %q has no kopiaStats", dataNS, snapshotName, component)
	}
	acc, err := resolveRepository(ctx, c, dataNS, snap.Spec.Repository, rs, localStorageDir)
	if err != nil {
		return nil, err
	}
	in := &RestoreInputs{Session: rs, Snapshot: snap, RepositoryAccess: *acc}
	for _, ks := range comp.KopiaStats {
		in.Entries = append(in.Entries, engine.SnapshotEntry{SnapshotID: ks.SnapshotID, HostPath: ks.HostPath})
	}
	return in, nil
}

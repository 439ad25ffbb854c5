package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// backupStorageName is the BackupStorage of every restoreWorld.
const backupStorageName = "backup-storage"

// storageSecretName is the credentials Secret of an object-store
// BackupStorage.
const storageSecretName = "storage-credentials"

// backupStorage is the BackupStorage a restoreWorld creates, with its
// credentials Secret, and what a process on the host needs to reach it.
// Tests may change any field before the world is created (a wrong key, a
// missing bucket).
type backupStorage struct {
	spec storagev1alpha1.BackupStorageSpec
	// credentials is the data of Secret storageSecretName, which
	// spec.storage names; nil: no Secret.
	credentials map[string]string
	// env is what the executor needs to reach an emulator (its address,
	// its certificate). The restore Jobs get it through the BackupStorage's
	// spec.runtimeSettings.container.env, as a user would set it; the
	// seeding snapshot, run on the host, through its environment.
	env []corev1.EnvVar
	// seedArgs are extra arguments of `restore-executor snapshot`.
	seedArgs []string
}

// localBackupStorage is a local BackupStorage on a fresh host directory,
// mounted into restore Jobs at /kubestash-repo.
func localBackupStorage(t *testing.T) *backupStorage {
	dir := t.TempDir()
	return &backupStorage{
		spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local: &storagev1alpha1.LocalSpec{
				VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
					Path: dir, Type: ptr.To(corev1.HostPathDirectory),
				}},
				MountPath: "/kubestash-repo",
			},
		}},
		seedArgs: []string{"--local-storage-dir", dir},
	}
}

// create creates the BackupStorage backupStorageName and its credentials
// Secret in ns, with env added to spec.runtimeSettings.container.env.
func (s *backupStorage) create(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if s.credentials != nil {
		framework.MustCreate(t, "storage Secret", func() error {
			_, err := c.Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: storageSecretName}, StringData: s.credentials,
			}, metav1.CreateOptions{})
			return err
		})
	}
	spec := s.spec.DeepCopy()
	if len(s.env) > 0 {
		if spec.RuntimeSettings == nil {
			spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{}
		}
		if spec.RuntimeSettings.Container == nil {
			spec.RuntimeSettings.Container = &corev1alpha1.ContainerRuntimeSettings{}
		}
		spec.RuntimeSettings.Container.Env = append(spec.RuntimeSettings.Container.Env, s.env...)
	}
	framework.MustCreate(t, "BackupStorage", func() error {
		_, err := restoreClient.StorageV1alpha1().BackupStorages(ns).Create(ctx, &storagev1alpha1.BackupStorage{
			ObjectMeta: metav1.ObjectMeta{Name: backupStorageName}, Spec: *spec,
		}, metav1.CreateOptions{})
		return err
	})
}

// hostEnv is env as NAME=VALUE, for a process on the host.
func (s *backupStorage) hostEnv() []string {
	var out []string
	for _, e := range s.env {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}

// objectStore is a running object-store emulator of a test.
type objectStore struct {
	// makeBucket creates a bucket (an Azure container).
	makeBucket func(t *testing.T, name string)
	// storage describes a BackupStorage on bucket, which it does not
	// create, with the emulator's valid credentials.
	storage func(bucket string) *backupStorage
	// wrongCredentials replaces the credentials of a storage with ones
	// the store refuses and returns what the error then says (with the
	// bucket's name).
	wrongCredentials func(s *backupStorage) (message []string)
	// missingBucket is what the error says of a bucket that does not
	// exist (with its name).
	missingBucket []string
	// secretKey is the credentials key a restore cannot do without.
	secretKey string
}

// objectStores are the emulators of the remote backends, each started by
// start for the rest of the test.
var objectStores = []struct {
	provider storagev1alpha1.StorageProvider
	start    func(t *testing.T) *objectStore
}{
	{storagev1alpha1.ProviderS3, startS3},
	{storagev1alpha1.ProviderGCS, startGCS},
	{storagev1alpha1.ProviderAzure, startAzure},
}

// storagePrefix is the BackupStorages' prefix, written the way
// KubeStash's docs do, with a leading slash.
const storagePrefix = "/backup/cluster-1"

// emulatorTimeout bounds creating a bucket on a local emulator.
const emulatorTimeout = 30 * time.Second

// startS3 starts versitygw.
func startS3(t *testing.T) *objectStore {
	gw := framework.StartVersitygw(t)
	return &objectStore{
		makeBucket: func(t *testing.T, name string) {
			ctx, cancel := context.WithTimeout(context.Background(), emulatorTimeout)
			defer cancel()
			gw.MakeBucket(ctx, t, name)
		},
		storage: func(bucket string) *backupStorage {
			return &backupStorage{
				spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
					Provider: storagev1alpha1.ProviderS3,
					S3: &storagev1alpha1.S3Spec{
						Endpoint: "http://" + gw.Endpoint, Bucket: bucket, Prefix: storagePrefix,
						Region: "us-east-1", SecretName: storageSecretName,
					},
				}},
				credentials: map[string]string{
					storagev1alpha1.S3AccessKeyIDKey:     gw.Access,
					storagev1alpha1.S3SecretAccessKeyKey: gw.Secret,
				},
			}
		},
		wrongCredentials: func(s *backupStorage) []string {
			s.credentials[storagev1alpha1.S3SecretAccessKeyKey] = "not-the-secret-key"
			return []string{"the backup storage refused the credentials s3:http://" + gw.Endpoint + "/"}
		},
		// kopia reads a missing S3 bucket as an empty one.
		missingBucket: []string{"no kopia repository found in the storage", "s3:http://" + gw.Endpoint + "/"},
		secretKey:     storagev1alpha1.S3SecretAccessKeyKey,
	}
}

// startGCS starts fake-gcs-server. It accepts any well-formed key, as
// Google's client sends none to an emulator (STORAGE_EMULATOR_HOST): a
// wrong key is one that is not a service account JSON key at all.
func startGCS(t *testing.T) *objectStore {
	gcs := framework.StartFakeGCS(t)
	key := framework.FakeServiceAccountKey(t)
	return &objectStore{
		makeBucket: func(t *testing.T, name string) {
			ctx, cancel := context.WithTimeout(context.Background(), emulatorTimeout)
			defer cancel()
			gcs.MakeBucket(ctx, t, name)
		},
		storage: func(bucket string) *backupStorage {
			return &backupStorage{
				spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
					Provider: storagev1alpha1.ProviderGCS,
					GCS: &storagev1alpha1.GCSSpec{
						Bucket: bucket, Prefix: storagePrefix, SecretName: storageSecretName, MaxConnections: 4,
					},
				}},
				credentials: map[string]string{storagev1alpha1.GCSServiceAccountJSONKey: key, "GOOGLE_PROJECT_ID": "restore-e2e"},
				env:         []corev1.EnvVar{{Name: "STORAGE_EMULATOR_HOST", Value: gcs.URL}},
			}
		},
		wrongCredentials: func(s *backupStorage) []string {
			s.credentials[storagev1alpha1.GCSServiceAccountJSONKey] = "-----BEGIN PRIVATE KEY----- not a service account key"
			return []string{"the service account key is not JSON", "gcs bucket "}
		},
		missingBucket: []string{"the bucket or container does not exist gcs:"},
		secretKey:     storagev1alpha1.GCSServiceAccountJSONKey,
	}
}

// startAzure starts Azurite over HTTPS; the executor trusts its
// certificate through SSL_CERT_FILE and reaches it through the
// storageDomain extension.
func startAzure(t *testing.T) *objectStore {
	az := framework.StartAzurite(t)
	return &objectStore{
		makeBucket: func(t *testing.T, name string) {
			ctx, cancel := context.WithTimeout(context.Background(), emulatorTimeout)
			defer cancel()
			az.MakeContainer(ctx, t, name)
		},
		storage: func(container string) *backupStorage {
			return &backupStorage{
				spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
					Provider: storagev1alpha1.ProviderAzure,
					Azure: &storagev1alpha1.AzureSpec{
						StorageAccount: framework.AzuriteAccount, Container: container, Prefix: storagePrefix,
						SecretName: storageSecretName, MaxConnections: 4, StorageDomain: az.StorageDomain,
					},
				}},
				credentials: map[string]string{storagev1alpha1.AzureAccountKeyKey: framework.AzuriteAccountKey},
				env:         []corev1.EnvVar{{Name: "SSL_CERT_FILE", Value: az.CertFile}},
			}
		},
		wrongCredentials: func(s *backupStorage) []string {
			// Well-formed base64, but not the account's key.
			s.credentials[storagev1alpha1.AzureAccountKeyKey] = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
			return []string{"the backup storage refused the credentials azure:" + framework.AzuriteAccount + "."}
		},
		missingBucket: []string{"the bucket or container does not exist azure:" + framework.AzuriteAccount + "."},
		secretKey:     storagev1alpha1.AzureAccountKeyKey,
	}
}

package executor

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/restore-controller/restore/pkg/apis/common"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
)

// A BackupStorage and its Secret become the engine's storage config: the
// prefix joined with the Repository's path the KubeStash way, the
// credentials from the Secret in the BackupStorage's namespace, ambient
// credentials without one, and a clear error naming the Secret and key
// when a key is missing.
func TestResolveRepositoryObjectStorage(t *testing.T) {
	const keyJSON = `{"type": "service_account"}`
	secret := func(name string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: name}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		backend storagev1alpha1.Backend
		secrets []runtime.Object
		env     map[string]string
		want    engine.StorageConfig
		wantErr error
		wantMsg []string
	}{
		{
			name: "gcs with a service account key",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderGCS, GCS: &storagev1alpha1.GCSSpec{
				Bucket: "backups", Prefix: "/backup/cluster-1", SecretName: "gcs-secret", MaxConnections: 5}},
			secrets: []runtime.Object{secret("gcs-secret", map[string]string{"GOOGLE_SERVICE_ACCOUNT_JSON_KEY": keyJSON, "GOOGLE_PROJECT_ID": "p"})},
			want: engine.StorageConfig{GCS: &engine.GCSStorage{Bucket: "backups", Prefix: "backup/cluster-1/demo/app/",
				ServiceAccountJSON: []byte(keyJSON), MaxConnections: 5}},
		},
		{
			name:    "gcs without secretName uses application-default credentials",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderGCS, GCS: &storagev1alpha1.GCSSpec{Bucket: "backups"}},
			want:    engine.StorageConfig{GCS: &engine.GCSStorage{Bucket: "backups", Prefix: "demo/app/"}},
		},
		{
			name: "gcs Secret without the key",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderGCS, GCS: &storagev1alpha1.GCSSpec{
				Bucket: "backups", SecretName: "gcs-secret"}},
			secrets: []runtime.Object{secret("gcs-secret", map[string]string{"GOOGLE_PROJECT_ID": "p"})},
			wantErr: ErrMissingSecretKey, wantMsg: []string{"infra/gcs-secret", `"GOOGLE_SERVICE_ACCOUNT_JSON_KEY"`},
		},
		{
			name: "azure with an account key",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{
				StorageAccount: "acct", Container: "backups", Prefix: "/backup/", SecretName: "azure-secret",
				MaxConnections: 2, StorageDomain: "blob.core.chinacloudapi.cn"}},
			secrets: []runtime.Object{secret("azure-secret", map[string]string{"AZURE_ACCOUNT_KEY": "a2V5"})},
			env:     map[string]string{"AZURE_TENANT_ID": "ignored", "AZURE_CLIENT_ID": "ignored", "AZURE_FEDERATED_TOKEN_FILE": "ignored"},
			want: engine.StorageConfig{Azure: &engine.AzureStorage{StorageAccount: "acct", Container: "backups", Prefix: "backup/demo/app/",
				AccountKey: "a2V5", MaxConnections: 2, StorageDomain: "blob.core.chinacloudapi.cn"}},
		},
		{
			name: "azure without secretName uses workload identity",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{
				StorageAccount: "acct", Container: "backups"}},
			env: map[string]string{"AZURE_TENANT_ID": "tenant", "AZURE_CLIENT_ID": "client", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"},
			want: engine.StorageConfig{Azure: &engine.AzureStorage{StorageAccount: "acct", Container: "backups", Prefix: "demo/app/",
				TenantID: "tenant", ClientID: "client", FederatedTokenFile: "/var/run/token"}},
		},
		{
			name: "azure Secret without the key",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{
				StorageAccount: "acct", Container: "backups", SecretName: "azure-secret"}},
			secrets: []runtime.Object{secret("azure-secret", map[string]string{"AZURE_STORAGE_KEY": "wrong name"})},
			wantErr: ErrMissingSecretKey, wantMsg: []string{"infra/azure-secret", `"AZURE_ACCOUNT_KEY"`},
		},
		{
			name: "azure Secret missing",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{
				StorageAccount: "acct", Container: "backups", SecretName: "azure-secret"}},
			wantErr: ErrMissingSecret, wantMsg: []string{"infra/azure-secret"},
		},
		{
			name: "s3 with temporary credentials and a CA bundle",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: "https://s3.example.com", Bucket: "backups", Prefix: "/backup", Region: "eu-west-1", SecretName: "s3-secret"}},
			secrets: []runtime.Object{secret("s3-secret", map[string]string{
				"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "key", "AWS_SESSION_TOKEN": "token", "CA_CERT_DATA": "pem"})},
			want: engine.StorageConfig{S3: &engine.S3Storage{Endpoint: "https://s3.example.com", Bucket: "backups",
				Prefix: "backup/demo/app/", Region: "eu-west-1", AccessKeyID: "id", SecretAccessKey: "key", SessionToken: "token",
				CACert: []byte("pem")}},
		},
		{
			name: "s3 without secretName uses ambient credentials",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: "s3.amazonaws.com", Bucket: "backups", Region: "us-east-1"}},
			want: engine.StorageConfig{S3: &engine.S3Storage{Endpoint: "s3.amazonaws.com", Bucket: "backups",
				Prefix: "demo/app/", Region: "us-east-1"}},
		},
		{
			name: "s3 Secret without the secret key",
			backend: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: "http://127.0.0.1:9000", Bucket: "backups", SecretName: "s3-secret"}},
			secrets: []runtime.Object{secret("s3-secret", map[string]string{"AWS_ACCESS_KEY_ID": "id"})},
			wantErr: ErrMissingSecretKey, wantMsg: []string{"infra/s3-secret", `"AWS_SECRET_ACCESS_KEY"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envAzureTenantID, envAzureClientID, envAzureFederatedTokenFile} {
				t.Setenv(k, tc.env[k])
			}
			rc := fake.NewClientset(
				&storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "store"},
					Spec: storagev1alpha1.BackupStorageSpec{Storage: tc.backend}},
				&storagev1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "repo"},
					Spec: storagev1alpha1.RepositorySpec{
						StorageRef:       common.ObjectReference{Namespace: "infra", Name: "store"},
						Path:             "/demo/app",
						EncryptionSecret: &common.ObjectReference{Name: "encryption"},
					}},
			)
			objs := append([]runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "encryption"},
				Data: map[string][]byte{storagev1alpha1.EncryptionKeyKopia: []byte(testPassword)}}}, tc.secrets...)
			c := Clients{Kube: kubefake.NewClientset(objs...), Restore: rc}
			acc, err := resolveRepository(testContext(t), c, "demo", "repo", nil, "")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("resolveRepository: %v, want %v", err, tc.wantErr)
				}
				for _, m := range tc.wantMsg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not name %s", err, m)
					}
				}
				return
			}
			must(t, err)
			if !reflect.DeepEqual(acc.Config, tc.want) {
				t.Errorf("storage config\n got %s %+v %+v %+v\nwant %s %+v %+v %+v", acc.Config, acc.Config.S3, acc.Config.GCS, acc.Config.Azure,
					tc.want, tc.want.S3, tc.want.GCS, tc.want.Azure)
			}
		})
	}
}

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=backupstorages,singular=backupstorage,categories={kubestash}
// +kubebuilder:printcolumn:name="Provider",type="string",JSONPath=".spec.storage.provider"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// BackupStorage is a place where repositories are kept: a volume, an S3 or
// GCS bucket or an Azure blob container.
type BackupStorage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec BackupStorageSpec `json:"spec"`
	// +optional
	Status BackupStorageStatus `json:"status,omitempty"`
}

// BackupStorageSpec is the storage backend and who may use it.
type BackupStorageSpec struct {
	// Storage is the backend.
	// +required
	Storage Backend `json:"storage"`

	// UsagePolicy says which namespaces' Repositories may use this storage.
	// +optional
	UsagePolicy *common.UsagePolicy `json:"usagePolicy,omitempty"`

	// Default marks the storage used when a Repository names none.
	// +optional
	Default bool `json:"default,omitempty"`

	// DeletionPolicy says what happens to the data when this object is
	// deleted.
	// +kubebuilder:validation:Enum=Delete;WipeOut
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// RuntimeSettings configure the restore Jobs that read this storage
	// (for example a nodeSelector that places them where a hostPath volume
	// is, or resources). A RestoreSession's own addon.jobTemplate and
	// addon.containerRuntimeSettings take precedence over them.
	// +optional
	RuntimeSettings *corev1alpha1.RuntimeSettings `json:"runtimeSettings,omitempty"`
}

// StorageProvider is a kind of storage backend.
// +kubebuilder:validation:Enum=local;s3;gcs;azure
type StorageProvider string

const (
	ProviderLocal StorageProvider = "local"
	ProviderS3    StorageProvider = "s3"
	ProviderGCS   StorageProvider = "gcs"
	ProviderAzure StorageProvider = "azure"
)

// Backend is one storage backend; the field named by Provider must be set
// and no other.
// +kubebuilder:validation:XValidation:rule="self.provider != 'local' || (has(self.local) && !has(self.s3) && !has(self.gcs) && !has(self.azure))",message="spec.storage.local is required, and spec.storage.s3, gcs and azure not allowed, when spec.storage.provider is local"
// +kubebuilder:validation:XValidation:rule="self.provider != 's3' || (has(self.s3) && !has(self.local) && !has(self.gcs) && !has(self.azure))",message="spec.storage.s3 is required, and spec.storage.local, gcs and azure not allowed, when spec.storage.provider is s3"
// +kubebuilder:validation:XValidation:rule="self.provider != 'gcs' || (has(self.gcs) && !has(self.local) && !has(self.s3) && !has(self.azure))",message="spec.storage.gcs is required, and spec.storage.local, s3 and azure not allowed, when spec.storage.provider is gcs"
// +kubebuilder:validation:XValidation:rule="self.provider != 'azure' || (has(self.azure) && !has(self.local) && !has(self.s3) && !has(self.gcs))",message="spec.storage.azure is required, and spec.storage.local, s3 and gcs not allowed, when spec.storage.provider is azure"
type Backend struct {
	// Provider of the storage: local, s3, gcs or azure.
	// +required
	Provider StorageProvider `json:"provider"`
	// Local is a volume mounted into the restore Jobs.
	// +optional
	Local *LocalSpec `json:"local,omitempty"`
	// S3 is an S3-compatible bucket.
	// +optional
	S3 *S3Spec `json:"s3,omitempty"`
	// GCS is a Google Cloud Storage bucket.
	// +optional
	GCS *GCSSpec `json:"gcs,omitempty"`
	// Azure is an Azure Blob Storage container.
	// +optional
	Azure *AzureSpec `json:"azure,omitempty"`
}

// LocalSpec is a volume that holds the repositories, mounted at MountPath.
type LocalSpec struct {
	corev1.VolumeSource `json:",inline"`

	// MountPath is where the volume is mounted in the executor container.
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)\\\\.\\\\.(/|$)')",message="spec.storage.local.mountPath must not contain '..'"
	// +required
	MountPath string `json:"mountPath"`

	// SubPath inside the volume that holds the repositories.
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.matches('(^|/)\\\\.\\\\.(/|$)')",message="spec.storage.local.subPath must be a relative path without '..'"
	// +optional
	SubPath string `json:"subPath,omitempty"`
}

// S3Spec is an S3-compatible bucket.
type S3Spec struct {
	// Endpoint of the S3 service, e.g. s3.amazonaws.com or
	// https://minio.example:9000. An http:// endpoint disables TLS.
	// +kubebuilder:validation:MinLength=1
	// +required
	Endpoint string `json:"endpoint"`

	// Bucket name.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +required
	Bucket string `json:"bucket"`

	// Prefix inside the bucket under which repositories live.
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// Region of the bucket.
	// +optional
	Region string `json:"region,omitempty"`

	// SecretName is a Secret in the BackupStorage's namespace with the keys
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and optionally
	// CA_CERT_DATA with a PEM CA bundle for the endpoint.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// InsecureTLS skips verification of the endpoint's certificate.
	// +optional
	InsecureTLS bool `json:"insecureTLS,omitempty"`
}

// GCSSpec is a Google Cloud Storage bucket.
type GCSSpec struct {
	// Bucket name.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=222
	// +required
	Bucket string `json:"bucket"`

	// Prefix inside the bucket under which repositories live.
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// SecretName is a Secret in the BackupStorage's namespace with the key
	// GOOGLE_SERVICE_ACCOUNT_JSON_KEY, a service account's JSON key
	// (GOOGLE_PROJECT_ID may be present and is not needed). Without it the
	// executor uses Google application-default credentials (e.g. GKE
	// workload identity).
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// MaxConnections bounds the concurrent requests to the bucket (reads
	// and writes each); 0 means no bound.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxConnections int64 `json:"maxConnections,omitempty"`
}

// AzureSpec is an Azure Blob Storage container.
type AzureSpec struct {
	// StorageAccount is the storage account's name.
	// +kubebuilder:validation:MinLength=1
	// +required
	StorageAccount string `json:"storageAccount"`

	// Container name.
	// +kubebuilder:validation:MinLength=1
	// +required
	Container string `json:"container"`

	// Prefix inside the container under which repositories live.
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// SecretName is a Secret in the BackupStorage's namespace with the key
	// AZURE_ACCOUNT_KEY, the storage account's access key. Without it the
	// executor uses Azure workload identity: the AZURE_TENANT_ID,
	// AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE variables the
	// workload identity webhook injects into the restore Job's pod.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// MaxConnections bounds the concurrent requests to the container (reads
	// and writes each); 0 means no bound.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxConnections int64 `json:"maxConnections,omitempty"`

	// StorageDomain is the blob service's domain; the account's endpoint is
	// https://<storageAccount>.<storageDomain>/. Default
	// blob.core.windows.net; set it for sovereign clouds (e.g.
	// blob.core.chinacloudapi.cn) and Azure Stack. An extension of this
	// project: KubeStash's AzureSpec has no such field.
	// +kubebuilder:validation:XValidation:rule="!self.contains('://') && !self.startsWith('/')",message="spec.storage.azure.storageDomain is a domain such as blob.core.chinacloudapi.cn, without scheme"
	// +optional
	StorageDomain string `json:"storageDomain,omitempty"`
}

// BackupStorageStatus is the observed state of a storage.
type BackupStorageStatus struct {
	// Phase is Ready or NotReady.
	// +optional
	Phase string `json:"phase,omitempty"`
	// TotalSize is the size of all the repositories in the storage.
	// +optional
	TotalSize string `json:"totalSize,omitempty"`
	// Repositories are the repositories kept in the storage.
	// +optional
	Repositories []RepositoryInfo `json:"repositories,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RepositoryInfo is one repository kept in a BackupStorage, as KubeStash
// reports it.
type RepositoryInfo struct {
	// Name of the Repository.
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace of the Repository.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Path of the repository inside the storage.
	// +optional
	Path string `json:"path,omitempty"`
	// Size of the repository.
	// +optional
	Size string `json:"size,omitempty"`
	// Synced says whether the Repository object and the storage agree.
	// +optional
	Synced *bool `json:"synced,omitempty"`
	// Error of the last sync.
	// +optional
	Error *string `json:"error,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupStorageList is a list of BackupStorages.
type BackupStorageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupStorage `json:"items"`
}

// Keys of the Secret an s3 BackupStorage names in secretName.
const (
	S3AccessKeyIDKey     = "AWS_ACCESS_KEY_ID"
	S3SecretAccessKeyKey = "AWS_SECRET_ACCESS_KEY"
	// S3SessionTokenKey, optional, holds the session token of temporary
	// credentials (STS) that go with the two keys above.
	S3SessionTokenKey = "AWS_SESSION_TOKEN"
	// S3CACertDataKey holds PEM CA certificates for a private endpoint.
	S3CACertDataKey = "CA_CERT_DATA"
)

// Key of the Secret a gcs BackupStorage names in secretName.
const GCSServiceAccountJSONKey = "GOOGLE_SERVICE_ACCOUNT_JSON_KEY"

// Key of the Secret an azure BackupStorage names in secretName.
const AzureAccountKeyKey = "AZURE_ACCOUNT_KEY"

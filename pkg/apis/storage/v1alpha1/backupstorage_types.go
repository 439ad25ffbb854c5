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

// BackupStorage is a place where repositories are kept: a volume or an S3
// bucket.
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
// +kubebuilder:validation:Enum=local;s3
type StorageProvider string

const (
	ProviderLocal StorageProvider = "local"
	ProviderS3    StorageProvider = "s3"
)

// Backend is one storage backend; the field named by Provider must be set.
// +kubebuilder:validation:XValidation:rule="self.provider != 'local' || (has(self.local) && !has(self.s3))",message="spec.storage.local is required, and spec.storage.s3 not allowed, when spec.storage.provider is local"
// +kubebuilder:validation:XValidation:rule="self.provider != 's3' || (has(self.s3) && !has(self.local))",message="spec.storage.s3 is required, and spec.storage.local not allowed, when spec.storage.provider is s3"
type Backend struct {
	// Provider of the storage: local or s3.
	// +required
	Provider StorageProvider `json:"provider"`
	// Local is a volume mounted into the restore Jobs.
	// +optional
	Local *LocalSpec `json:"local,omitempty"`
	// S3 is an S3-compatible bucket.
	// +optional
	S3 *S3Spec `json:"s3,omitempty"`
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
	// S3CACertDataKey holds PEM CA certificates for a private endpoint.
	S3CACertDataKey = "CA_CERT_DATA"
)

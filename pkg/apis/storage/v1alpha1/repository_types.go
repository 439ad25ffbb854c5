package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=repositories,singular=repository,categories={kubestash}
// +kubebuilder:printcolumn:name="Storage",type="string",JSONPath=".spec.storageRef.name"
// +kubebuilder:printcolumn:name="Path",type="string",JSONPath=".spec.path"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// Repository is a kopia repository inside a BackupStorage.
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RepositorySpec `json:"spec"`
	// +optional
	Status RepositoryStatus `json:"status,omitempty"`
}

// RepositorySpec says where the repository is and how it is encrypted.
type RepositorySpec struct {
	// AppRef is the application whose backups the repository holds.
	// +optional
	AppRef *common.TypedObjectReference `json:"appRef,omitempty"`

	// StorageRef is the BackupStorage that holds the repository.
	// +required
	StorageRef common.ObjectReference `json:"storageRef"`

	// Path of the repository inside the storage (under the storage's prefix
	// or sub path).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)\\\\.\\\\.(/|$)')",message="spec.path must not contain '..'"
	// +required
	Path string `json:"path"`

	// EncryptionSecret holds the repository password under the key
	// KOPIA_PASSWORD (or RESTIC_PASSWORD, as KubeStash names it).
	// +optional
	EncryptionSecret *common.ObjectReference `json:"encryptionSecret,omitempty"`

	// DeletionPolicy says what happens to the data when this object is
	// deleted.
	// +kubebuilder:validation:Enum=Delete;WipeOut
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// Paused stops backups into the repository.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// RepositoryStatus is the observed state of a repository.
type RepositoryStatus struct {
	// +optional
	Phase string `json:"phase,omitempty"`
	// +optional
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// Integrity is false when a check of the repository found damage.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// +optional
	SnapshotCount *int32 `json:"snapshotCount,omitempty"`
	// +optional
	Size string `json:"size,omitempty"`
	// RecentSnapshots are the newest Snapshots of the repository.
	// +optional
	RecentSnapshots []SnapshotInfo `json:"recentSnapshots,omitempty"`
	// ComponentPaths are the paths, inside the repository, of the
	// components backed up into it.
	// +optional
	ComponentPaths []string `json:"componentPaths,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SnapshotInfo is a short summary of one Snapshot of a repository.
type SnapshotInfo struct {
	// Name of the Snapshot.
	// +optional
	Name string `json:"name,omitempty"`
	// Phase of the Snapshot.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`
	// Session that made the Snapshot.
	// +optional
	Session string `json:"session,omitempty"`
	// Size of the Snapshot's data.
	// +optional
	Size string `json:"size,omitempty"`
	// SnapshotTime is when the backup was taken.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RepositoryList is a list of Repositories.
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}

// Keys of an encryption Secret. The executor reads EncryptionKeyKopia and
// falls back to EncryptionKeyRestic, the key KubeStash users' Secrets carry.
const (
	EncryptionKeyKopia  = "KOPIA_PASSWORD"
	EncryptionKeyRestic = "RESTIC_PASSWORD"
)

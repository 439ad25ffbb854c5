package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// Labels KubeStash sets on Snapshots; the controller selects a Repository's
// Snapshots by LabelRepoName.
const (
	LabelRepoName        = "kubestash.com/repo-name"
	LabelAppRefKind      = "kubestash.com/app-ref-kind"
	LabelAppRefNamespace = "kubestash.com/app-ref-namespace"
	LabelAppRefName      = "kubestash.com/app-ref-name"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=snapshots,singular=snapshot,categories={kubestash}
// +kubebuilder:printcolumn:name="Repository",type="string",JSONPath=".spec.repository"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Snapshot-Time",type="string",JSONPath=".status.snapshotTime"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// Snapshot is one backup of an application, made of components (for a
// StatefulSet, one per pod), each stored as kopia snapshots in a Repository.
type Snapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SnapshotSpec `json:"spec"`
	// +optional
	Status SnapshotStatus `json:"status,omitempty"`
}

// SnapshotSpec says which Repository and application a Snapshot belongs to.
type SnapshotSpec struct {
	// SnapshotID is a unique identifier of the backup run.
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`

	// Type is FullBackup or IncrementalBackup.
	// +optional
	Type string `json:"type,omitempty"`

	// Repository is the name of the Repository, in the Snapshot's namespace,
	// that holds the data.
	// +kubebuilder:validation:MinLength=1
	// +required
	Repository string `json:"repository"`

	// Session is the backup session that made the Snapshot.
	// +optional
	Session string `json:"session,omitempty"`

	// BackupSession that made the Snapshot.
	// +optional
	BackupSession string `json:"backupSession,omitempty"`

	// Version of the Snapshot format.
	// +optional
	Version string `json:"version,omitempty"`

	// AppRef is the application that was backed up.
	// +optional
	AppRef *common.TypedObjectReference `json:"appRef,omitempty"`

	// DeletionPolicy says what happens to the data when this object is
	// deleted.
	// +kubebuilder:validation:Enum=Delete;WipeOut
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// Paused protects the Snapshot from cleanup.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// SnapshotPhase is the state of a Snapshot or one of its components.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type SnapshotPhase string

const (
	SnapshotPending   SnapshotPhase = "Pending"
	SnapshotRunning   SnapshotPhase = "Running"
	SnapshotSucceeded SnapshotPhase = "Succeeded"
	SnapshotFailed    SnapshotPhase = "Failed"
)

// SnapshotStatus is the content of a Snapshot.
type SnapshotStatus struct {
	// Phase of the backup.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`

	// SnapshotTime is when the backup was taken; `latest` picks the newest.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`

	// LastUpdateTime is when the status last changed.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`

	// Size of the backed up data.
	// +optional
	Size string `json:"size,omitempty"`

	// TotalComponents is the number of components.
	// +optional
	TotalComponents int32 `json:"totalComponents,omitempty"`

	// Components of the Snapshot, keyed by name (pod-0, pod-1, … or dump).
	// +mapType=granular
	// +optional
	Components map[string]Component `json:"components,omitempty"`

	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Driver is the tool that stored a component's data.
// +kubebuilder:validation:Enum=Kopia;Restic;WalG;VolumeSnapshotter
type Driver string

const (
	// DriverKopia is this project's format: kopia snapshots in a kopia
	// repository.
	DriverKopia             Driver = "Kopia"
	DriverRestic            Driver = "Restic"
	DriverWalG              Driver = "WalG"
	DriverVolumeSnapshotter Driver = "VolumeSnapshotter"
)

// Component is one part of a Snapshot, restored by one restore Job.
type Component struct {
	// Path of the component inside the repository.
	// +optional
	Path string `json:"path,omitempty"`

	// Phase of the component's backup.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`

	// Size of the component's data.
	// +optional
	Size string `json:"size,omitempty"`

	// Duration of the component's backup.
	// +optional
	Duration string `json:"duration,omitempty"`

	// Error of a failed backup.
	// +optional
	Error string `json:"error,omitempty"`

	// Driver that stored the data; only Kopia components can be restored by
	// this project.
	// +optional
	Driver Driver `json:"driver,omitempty"`

	// KopiaStats lists the kopia snapshots of the component, one per backed
	// up path.
	// +optional
	KopiaStats []KopiaStats `json:"kopiaStats,omitempty"`

	// ResticStats lists the restic snapshots of a Restic component.
	// +optional
	ResticStats []ResticStats `json:"resticStats,omitempty"`
}

// KopiaStats is one kopia snapshot of a component.
type KopiaStats struct {
	// SnapshotID is the kopia snapshot manifest ID.
	// +kubebuilder:validation:MinLength=1
	SnapshotID string `json:"snapshotID"`
	// HostPath is the path the data was backed up from; it is restored to
	// the same path under the target's mounts.
	// +kubebuilder:validation:Pattern=`^/`
	HostPath string `json:"hostPath"`
	// Size of the snapshot's data.
	// +optional
	Size string `json:"size,omitempty"`
	// Uploaded is how much new data the backup uploaded.
	// +optional
	Uploaded string `json:"uploaded,omitempty"`
}

// ResticStats is one restic snapshot of a component.
type ResticStats struct {
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	HostPath string `json:"hostPath,omitempty"`
	// +optional
	Size string `json:"size,omitempty"`
	// +optional
	Uploaded string `json:"uploaded,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// SnapshotList is a list of Snapshots.
type SnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Snapshot `json:"items"`
}

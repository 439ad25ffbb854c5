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
	// that holds the data. KubeStash's schema leaves it optional; a
	// RestoreSession cannot restore a Snapshot without it.
	// +optional
	Repository string `json:"repository,omitempty"`

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

	// VerificationStatus is the result of the last verification of the
	// Snapshot.
	// +optional
	VerificationStatus VerificationStatus `json:"verificationStatus,omitempty"`

	// VerificationSession is the session that verified the Snapshot last.
	// +optional
	VerificationSession string `json:"verificationSession,omitempty"`

	// SnapshotTime is when the backup was taken; `latest` picks the newest.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`

	// LastUpdateTime is when the status last changed.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`

	// Size of the backed up data.
	// +optional
	Size string `json:"size,omitempty"`

	// Integrity is false when a check of the Snapshot's data found damage.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`

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

// VerificationStatus is the result of verifying a Snapshot.
// +kubebuilder:validation:Enum=Verified;NotVerified;VerificationFailed
type VerificationStatus string

const (
	SnapshotVerified           VerificationStatus = "Verified"
	SnapshotNotVerified        VerificationStatus = "NotVerified"
	SnapshotVerificationFailed VerificationStatus = "VerificationFailed"
)

// Driver is the tool that stored a component's data. The schema accepts
// every driver KubeStash knows, so that a Snapshot made by KubeStash can be
// stored as it is; only Kopia components can be restored.
// +kubebuilder:validation:Enum=Kopia;Restic;WalG;Medusa;VolumeSnapshotter;Solr;ClickHouseBackup;Neo4jAdmin
type Driver string

const (
	// DriverKopia is this project's format: kopia snapshots in a kopia
	// repository.
	DriverKopia             Driver = "Kopia"
	DriverRestic            Driver = "Restic"
	DriverWalG              Driver = "WalG"
	DriverMedusa            Driver = "Medusa"
	DriverVolumeSnapshotter Driver = "VolumeSnapshotter"
	DriverSolr              Driver = "Solr"
	DriverClickHouseBackup  Driver = "ClickHouseBackup"
	DriverNeo4jAdmin        Driver = "Neo4jAdmin"
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

	// Integrity is false when a check of the component's data found
	// damage.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`

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

	// The statistics below are those of the other drivers KubeStash
	// writes. They are kept so that a KubeStash Snapshot is stored as it
	// is; the controller does not read them.

	// ResticStats lists the restic snapshots of a Restic component.
	// +optional
	ResticStats []ResticStats `json:"resticStats,omitempty"`
	// +optional
	SolrStats []SolrStats `json:"solrStats,omitempty"`
	// +optional
	WalGStats *WalGStats `json:"walGStats,omitempty"`
	// +optional
	MedusaStats *MedusaStats `json:"medusaStats,omitempty"`
	// +optional
	VolumeSnapshotterStats []VolumeSnapshotterStats `json:"volumeSnapshotterStats,omitempty"`
	// +optional
	LogStats *LogStats `json:"logStats,omitempty"`
	// +optional
	ClickHouseStats []ClickHouseStats `json:"clickHouseStats,omitempty"`
	// +optional
	Neo4jStats []Neo4jStats `json:"neo4jStats,omitempty"`
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

// ResticStats is one restic snapshot of a component: its summary, or the
// progress of a backup still running.
type ResticStats struct {
	// +optional
	Summary *ResticSummary `json:"summary,omitempty"`
	// +optional
	Progress *BackupProgress `json:"progress,omitempty"`
}

// ResticSummary describes a finished restic snapshot.
type ResticSummary struct {
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	Uploaded string `json:"uploaded,omitempty"`
	// +optional
	HostPath string `json:"hostPath,omitempty"`
	// +optional
	Size string `json:"size,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
}

// BackupProgress is the progress of a running restic backup.
type BackupProgress struct {
	// +optional
	SecondsElapsed int64 `json:"secondsElapsed,omitempty"`
	// +optional
	PercentDone string `json:"percentDone,omitempty"`
	// +optional
	TotalFiles int64 `json:"totalFiles,omitempty"`
	// +optional
	FilesDone int64 `json:"filesDone,omitempty"`
	// +optional
	BackupDone string `json:"backupDone,omitempty"`
	// +optional
	Total string `json:"total,omitempty"`
	// +optional
	Speed string `json:"speed,omitempty"`
}

// VolumeSnapshotterStats is one VolumeSnapshot of a VolumeSnapshotter
// component.
type VolumeSnapshotterStats struct {
	// +optional
	PVCName string `json:"pvcName,omitempty"`
	// +optional
	HostPath string `json:"hostPath,omitempty"`
	// +optional
	VolumeSnapshotName string `json:"volumeSnapshotName,omitempty"`
	// +optional
	VolumeSnapshotTime *metav1.Time `json:"volumeSnapshotTime,omitempty"`
}

// WalGStats is the backup of a WalG component.
type WalGStats struct {
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	Databases []string `json:"databases,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	StopTime *metav1.Time `json:"stopTime,omitempty"`
}

// MedusaStats is the backup of a Medusa component.
type MedusaStats struct {
	// +optional
	BackupName string `json:"backupName,omitempty"`
	// +optional
	BackupNodes []string `json:"backupNodes,omitempty"`
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	StartTime string `json:"startTime,omitempty"`
	// +optional
	FinishTime string `json:"finishTime,omitempty"`
}

// SolrStats is one collection backup of a Solr component.
type SolrStats struct {
	// +optional
	BackupID int64 `json:"backupId,omitempty"`
	// +optional
	BackupName string `json:"backupName,omitempty"`
	// +optional
	Collection string `json:"collection,omitempty"`
	// +optional
	IndexFileCount int64 `json:"indexFileCount,omitempty"`
	// +optional
	IndexSizeMB float64 `json:"indexSizeMB,omitempty"`
	// +optional
	Location string `json:"location,omitempty"`
	// +optional
	StartTime string `json:"startTime,omitempty"`
	// +optional
	UploadedIndexFileMB float64 `json:"uploadedIndexFileMB,omitempty"`
}

// ClickHouseStats is one backup of a ClickHouseBackup component.
type ClickHouseStats struct {
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	Host string `json:"host,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	FinishTime *metav1.Time `json:"finishTime,omitempty"`
}

// Neo4jStats is one database backup of a Neo4jAdmin component.
type Neo4jStats struct {
	// +optional
	File string `json:"file,omitempty"`
	// +optional
	Database string `json:"database,omitempty"`
	// +optional
	DatabaseID string `json:"databaseID,omitempty"`
	// +optional
	Time string `json:"time,omitempty"`
	// +optional
	Full *bool `json:"full,omitempty"`
	// +optional
	Compressed *bool `json:"compressed,omitempty"`
	// +optional
	LowestTX int64 `json:"lowestTX,omitempty"`
	// +optional
	HighestTX int64 `json:"highestTX,omitempty"`
	// +optional
	StoreIDHash string `json:"storeIDHash,omitempty"`
	// +optional
	Recovered *bool `json:"recovered,omitempty"`
}

// LogStats are the statistics of a component that ships logs (for
// example WAL archiving).
type LogStats struct {
	// +optional
	Start *string `json:"start,omitempty"`
	// +optional
	End *string `json:"end,omitempty"`
	// +optional
	Lsn *string `json:"lsn,omitempty"`
	// +optional
	TotalFailedCount int64 `json:"totalFailedCount,omitempty"`
	// +optional
	LastFailedStats []LogRange `json:"lastFailedStats,omitempty"`
	// +optional
	TotalSucceededCount int64 `json:"totalSucceededCount,omitempty"`
	// +optional
	LastSucceededStats []LogRange `json:"lastSucceededStats,omitempty"`
	// +optional
	LastLogRetentionStats []LogRetentionStatus `json:"lastLogRetentionStats,omitempty"`
}

// LogRange is one shipped (or failed) range of logs.
type LogRange struct {
	// +optional
	Start *string `json:"start,omitempty"`
	// +optional
	End *string `json:"end,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
}

// LogRetentionStatus is one run of log retention.
type LogRetentionStatus struct {
	// +optional
	LastExecutionTime *string `json:"lastExecutionTime,omitempty"`
	// +optional
	RetentionPeriodApplied string `json:"retentionPeriodApplied,omitempty"`
	// +optional
	DeletedLogCount int64 `json:"deletedLogCount,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// SnapshotList is a list of Snapshots.
type SnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Snapshot `json:"items"`
}

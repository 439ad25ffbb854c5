package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// SnapshotLatest in spec.dataSource.snapshot selects the newest Succeeded
// Snapshot of the named Repository.
const SnapshotLatest = "latest"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=restoresessions,singular=restoresession,shortName=restore,categories={kubestash,all}
// +kubebuilder:printcolumn:name="Repository",type="string",JSONPath=".spec.dataSource.repository"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Progress",type="string",JSONPath=".status.progress"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".status.duration"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// RestoreSession restores the data of a Snapshot into a target application.
// It is a one-shot request: its spec cannot change after creation.
type RestoreSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RestoreSessionSpec `json:"spec"`
	// +optional
	Status RestoreSessionStatus `json:"status,omitempty"`
}

// RestoreSessionSpec says what to restore, from where, and how.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: a RestoreSession is a one-shot request, create a new one to restore again"
type RestoreSessionSpec struct {
	// Target is the application whose volumes receive the data: a
	// StatefulSet, Deployment or DaemonSet (apiGroup apps) or a
	// PersistentVolumeClaim (core group) in the RestoreSession's namespace.
	// A workload kind with an empty apiGroup means apps, as in KubeStash.
	// +kubebuilder:validation:XValidation:rule="!(self.kind in ['StatefulSet', 'Deployment', 'DaemonSet']) || !has(self.apiGroup) || self.apiGroup in ['', 'apps']",message="spec.target.apiGroup must be 'apps' (or empty) for a StatefulSet, Deployment or DaemonSet target"
	// +kubebuilder:validation:XValidation:rule="self.kind != 'PersistentVolumeClaim' || !has(self.apiGroup) || self.apiGroup == ''",message="spec.target.apiGroup must be empty (the core group) for a PersistentVolumeClaim target"
	// +optional
	Target *common.TypedObjectReference `json:"target,omitempty"`

	// DataSource is the Repository and Snapshot to restore from. The schema
	// lets it be absent, as KubeStash's does, but a RestoreSession without
	// it fails validation: there is nothing to restore.
	// +optional
	DataSource RestoreDataSource `json:"dataSource,omitzero"` // omitzero: an absent data source stays absent when written back

	// Addon names the addon and the restore tasks that restore the target.
	// +required
	Addon AddonInfo `json:"addon"`

	// Hooks run before and after the restore.
	// +optional
	Hooks *RestoreHooks `json:"hooks,omitempty"`

	// RestoreTimeout bounds the whole restore, counted from when the
	// controller first processes it. When it passes, the remaining restore
	// Jobs are stopped and the restore fails.
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="spec.restoreTimeout must be a positive duration such as 30m or 2h"
	// +optional
	RestoreTimeout *metav1.Duration `json:"restoreTimeout,omitempty"`

	// ManifestOptions select and rename the object manifests restored by a
	// manifest-restore task.
	// +optional
	ManifestOptions *ManifestRestoreOptions `json:"manifestOptions,omitempty"`
}

// RestoreDataSource is the data that will be restored.
// +kubebuilder:validation:XValidation:rule="!has(self.snapshot) || self.snapshot != 'latest' || (has(self.repository) && size(self.repository) > 0)",message="spec.dataSource.repository is required when spec.dataSource.snapshot is 'latest'"
// +kubebuilder:validation:XValidation:rule="has(self.snapshot) || has(self.pitr)",message="spec.dataSource.snapshot: Required value"
type RestoreDataSource struct {
	// Namespace of the Repository and Snapshot; defaults to the
	// RestoreSession's namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Repository is the name of the Repository that holds the Snapshot. It
	// may be empty when Snapshot names a Snapshot.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Repository string `json:"repository,omitempty"`

	// Snapshot is the name of the Snapshot to restore, or "latest" for the
	// newest Succeeded Snapshot of Repository. Required unless pitr is set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Snapshot string `json:"snapshot,omitempty"`

	// PITR is KubeStash's point-in-time recovery. It is accepted but a
	// RestoreSession using it fails validation: kopia snapshots carry no
	// point-in-time log.
	// +optional
	PITR *PITR `json:"pitr,omitempty"`

	// Components lists the Snapshot components to restore (for a
	// StatefulSet, pod-0, pod-1, …). Empty means every component of the
	// Snapshot.
	// +listType=set
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Components []string `json:"components,omitempty"`

	// EncryptionSecret holds the repository password. It may be in another
	// namespace; it is read by the restore executor and never copied.
	// Defaults to the Repository's encryption secret.
	// +optional
	EncryptionSecret *common.ObjectReference `json:"encryptionSecret,omitempty"`
}

// PITR is a point-in-time recovery request (KubeStash's shape).
type PITR struct {
	// TargetTime is the time to restore to.
	// +optional
	TargetTime *metav1.Time `json:"targetTime,omitempty"`

	// Exclusive leaves out a Snapshot taken exactly at TargetTime.
	// +optional
	Exclusive bool `json:"exclusive,omitempty"`
}

// AddonInfo selects the addon and the restore tasks that restore the target.
type AddonInfo struct {
	// Name of the Addon.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// Tasks are the Addon's restore tasks to run, with their configuration.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +required
	Tasks []TaskReference `json:"tasks"`

	// ContainerRuntimeSettings configure the restore executor container.
	// +optional
	ContainerRuntimeSettings *ContainerRuntimeSettings `json:"containerRuntimeSettings,omitempty"`

	// JobTemplate configures the restore Jobs' pods.
	// +optional
	JobTemplate *PodTemplateSpec `json:"jobTemplate,omitempty"`
}

// TaskReference selects one task of the Addon and configures it.
type TaskReference struct {
	// Name of the task in the Addon's restoreTasks.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// Variables are resolved like container environment variables and can be
	// referred to as ${NAME} in Params.
	// +listType=map
	// +listMapKey=name
	// +optional
	Variables []corev1.EnvVar `json:"variables,omitempty"`

	// Params are the task's parameters, as the Addon defines them.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Params *runtime.RawExtension `json:"params,omitempty"`

	// TargetVolumes are the target's volumes to mount into the restore Job.
	// +optional
	TargetVolumes *TargetVolumeInfo `json:"targetVolumes,omitempty"`

	// AddonVolumes replace the sources of the Addon's volume template, by
	// volume name.
	// +listType=map
	// +listMapKey=name
	// +optional
	AddonVolumes []common.NamedVolumeSource `json:"addonVolumes,omitempty"`
}

// TargetVolumeInfo says which of the target's volumes the restore Job mounts.
type TargetVolumeInfo struct {
	// Volumes of the target to mount in the restore Job.
	// +listType=map
	// +listMapKey=name
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts mount Volumes into the restore container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// VolumeClaimTemplates are the target StatefulSet's claim templates: for
	// the component of ordinal N the Job mounts the claim <template>-<sts>-N.
	// +optional
	VolumeClaimTemplates []corev1.PersistentVolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`
}

// RestoreHooks are the hooks run before and after the restore.
type RestoreHooks struct {
	// PreRestore hooks run, in order, before any restore Job is created. A
	// failed pre-restore hook fails the restore without restoring.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(h, !has(h.executionPolicy) || h.executionPolicy == 'Always')",message="spec.hooks.preRestore[].executionPolicy must be Always: OnSuccess and OnFailure apply to postRestore hooks only"
	// +optional
	PreRestore []HookInfo `json:"preRestore,omitempty"`

	// PostRestore hooks run, in order, after every component has finished.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	PostRestore []HookInfo `json:"postRestore,omitempty"`
}

// ManifestRestoreOptions select the object manifests a manifest-restore task
// restores and where. It has both KubeStash's current shape (a
// restoreNamespace per database) and its earlier one (one restoreNamespace
// for all); a restore creates every object in one namespace, so the
// namespaces named must agree. This project restores MongoDB, Postgres,
// MySQL and MariaDB; the other kinds are accepted for compatibility and
// refused at validation when a manifest task runs.
type ManifestRestoreOptions struct {
	// RestoreNamespace is the namespace the restored objects are created in.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`

	// Workload is accepted and not used: this project restores no workload
	// manifests.
	// +optional
	Workload *WorkloadManifestOptions `json:"workload,omitempty"`

	// MongoDB selects the MongoDB objects to restore.
	// +optional
	MongoDB *KubeDBManifestOptions `json:"mongoDB,omitempty"`

	// Postgres selects the Postgres objects to restore.
	// +optional
	Postgres *KubeDBManifestOptions `json:"postgres,omitempty"`

	// MySQL selects the MySQL objects to restore.
	// +optional
	MySQL *KubeDBManifestOptions `json:"mySQL,omitempty"`

	// MariaDB selects the MariaDB objects to restore.
	// +optional
	MariaDB *KubeDBManifestOptions `json:"mariaDB,omitempty"`

	// ClickHouse: accepted, not restored by this project.
	// +optional
	ClickHouse *KubeDBManifestOptions `json:"clickhouse,omitempty"`

	// MSSQLServer: accepted, not restored by this project.
	// +optional
	MSSQLServer *MSSQLServerManifestOptions `json:"msSQLServer,omitempty"`

	// Druid: accepted, not restored by this project.
	// +optional
	Druid *DruidManifestOptions `json:"druid,omitempty"`

	// ZooKeeper: accepted, not restored by this project.
	// +optional
	ZooKeeper *KubeDBManifestOptions `json:"zooKeeper,omitempty"`

	// Singlestore: accepted, not restored by this project.
	// +optional
	Singlestore *KubeDBManifestOptions `json:"singlestore,omitempty"`

	// Redis: accepted, not restored by this project.
	// +optional
	Redis *KubeDBManifestOptions `json:"redis,omitempty"`

	// RedisSentinel: accepted, not restored by this project.
	// +optional
	RedisSentinel *RedisSentinelManifestOptions `json:"redisSentinel,omitempty"`
}

// WorkloadManifestOptions are KubeStash's options for workload manifests.
type WorkloadManifestOptions struct {
	// RestoreNamespace for workload manifests.
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`
}

// KubeDBManifestOptions choose, rename and place a KubeDB database's
// objects in a manifest restore. A new name is only meaningful for an
// object that is restored.
// +kubebuilder:validation:XValidation:rule="!has(self.dbName) || !has(self.db) || self.db",message="dbName renames the database object, which db: false does not restore"
// +kubebuilder:validation:XValidation:rule="!has(self.authSecretName) || !has(self.authSecret) || self.authSecret",message="authSecretName renames the auth Secret, which authSecret: false does not restore"
// +kubebuilder:validation:XValidation:rule="!has(self.configSecretName) || !has(self.configSecret) || self.configSecret",message="configSecretName renames the config Secret, which configSecret: false does not restore"
// +kubebuilder:validation:XValidation:rule="!has(self.issuerRefName) || !has(self.tlsIssuerRef)",message="set tlsIssuerRef or issuerRefName, not both"
type KubeDBManifestOptions struct {
	// RestoreNamespace is where this database's objects are created.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`

	// DB restores the database object itself. Defaults to true.
	// +kubebuilder:default=true
	// +optional
	DB *bool `json:"db,omitempty"`

	// DBName is the new name of the database object.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	DBName string `json:"dbName,omitempty"`

	// AuthSecret restores the database's auth Secret. Defaults to true.
	// +kubebuilder:default=true
	// +optional
	AuthSecret *bool `json:"authSecret,omitempty"`

	// AuthSecretName is the new name of the auth Secret.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	AuthSecretName string `json:"authSecretName,omitempty"`

	// Archiver: accepted, not used (no archiver is in the snapshot).
	// +kubebuilder:default=false
	// +optional
	Archiver *bool `json:"archiver,omitempty"`

	// ArchiverRef: accepted, not used.
	// +optional
	ArchiverRef *common.ObjectReference `json:"archiverRef,omitempty"`

	// ConfigSecret restores the database's config Secret. Defaults to true.
	// +kubebuilder:default=true
	// +optional
	ConfigSecret *bool `json:"configSecret,omitempty"`

	// ConfigSecretName is the new name of the config Secret.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	ConfigSecretName string `json:"configSecretName,omitempty"`

	// InitScript: accepted, not used.
	// +kubebuilder:default=true
	// +optional
	InitScript *bool `json:"initScript,omitempty"`

	// TLSIssuerRef replaces the database's spec.tls.issuerRef.
	// +optional
	TLSIssuerRef *corev1.TypedLocalObjectReference `json:"tlsIssuerRef,omitempty"`

	// IssuerRefName renames the database's TLS issuer (an earlier
	// KubeStash shape of tlsIssuerRef).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	IssuerRefName string `json:"issuerRefName,omitempty"`
}

// MSSQLServerManifestOptions are KubeStash's MSSQLServer options (accepted,
// not used).
type MSSQLServerManifestOptions struct {
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`
	// +kubebuilder:default=true
	// +optional
	DB *bool `json:"db,omitempty"`
	// +optional
	DBName string `json:"dbName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	AuthSecret *bool `json:"authSecret,omitempty"`
	// +optional
	AuthSecretName string `json:"authSecretName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	InitScript *bool `json:"initScript,omitempty"`
	// +kubebuilder:default=false
	// +optional
	Archiver *bool `json:"archiver,omitempty"`
	// +optional
	ArchiverRef *common.ObjectReference `json:"archiverRef,omitempty"`
	// +optional
	TLSIssuerRef *corev1.TypedLocalObjectReference `json:"tlsIssuerRef,omitempty"`
}

// DruidManifestOptions are KubeStash's Druid options (accepted, not used).
type DruidManifestOptions struct {
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`
	// +kubebuilder:default=true
	// +optional
	DB *bool `json:"db,omitempty"`
	// +optional
	DBName string `json:"dbName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	AuthSecret *bool `json:"authSecret,omitempty"`
	// +optional
	AuthSecretName string `json:"authSecretName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	ConfigSecret *bool `json:"configSecret,omitempty"`
	// +optional
	ConfigSecretName string `json:"configSecretName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	DeepStorageSecret *bool `json:"deepStorageSecret,omitempty"`
}

// RedisSentinelManifestOptions are KubeStash's RedisSentinel options
// (accepted, not used). SentinelName's capitalised key is KubeStash's.
type RedisSentinelManifestOptions struct {
	// +optional
	RestoreNamespace string `json:"restoreNamespace,omitempty"`
	// +kubebuilder:default=true
	// +optional
	Sentinel *bool `json:"sentinel,omitempty"`
	// +optional
	SentinelName string `json:"SentinelName,omitempty"`
	// +kubebuilder:default=true
	// +optional
	AuthSecret *bool `json:"authSecret,omitempty"`
	// +optional
	AuthSecretName string `json:"authSecretName,omitempty"`
	// +optional
	TLSIssuerRef *corev1.TypedLocalObjectReference `json:"tlsIssuerRef,omitempty"`
}

// RestoreSessionStatus is the observed state of a restore.
type RestoreSessionStatus struct {
	// Phase is the overall state of the restore.
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`

	// TargetFound says whether the target exists.
	// +optional
	TargetFound *bool `json:"targetFound,omitempty"`

	// Progress summarises the components for people, e.g. "2/3 components,
	// 67%": how many of totalComponents succeeded, then the mean of their
	// completion percentages (a succeeded component counts 100%, a running
	// one its percentage in steps of ten, one not yet reporting 0%), and
	// how many failed, if any. The controller derives it from components;
	// read those for precise figures.
	// +optional
	Progress string `json:"progress,omitempty"`

	// Duration is the time the restore took, from start to its final step.
	// +optional
	Duration string `json:"duration,omitempty"`

	// RestoreDeadline is when the restore fails if it has not finished.
	// +optional
	RestoreDeadline *metav1.Time `json:"restoreDeadline,omitempty"`

	// TotalComponents is the number of components being restored.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TotalComponents int32 `json:"totalComponents,omitempty"`

	// Components is the restore status of each component, keyed by name.
	// Each restore executor patches only its own entry.
	// +mapType=granular
	// +optional
	Components map[string]ComponentRestoreStatus `json:"components,omitempty"`

	// Hooks is the state of the pre- and post-restore hooks.
	// +optional
	Hooks *HookStatus `json:"hooks,omitempty"`

	// Dependencies lists the objects the restore needs and whether they exist.
	// +optional
	Dependencies []ResourceFoundStatus `json:"dependencies,omitempty"`

	// PausedBackups are the BackupConfigurations paused for the restore; they
	// are resumed when it ends.
	// +optional
	PausedBackups []common.TypedObjectReference `json:"pausedBackups,omitempty"`

	// Conditions of the restore's steps.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RestorePhase is the state of a restore or of one of its components.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Invalid;Unknown
type RestorePhase string

const (
	RestorePending      RestorePhase = "Pending"
	RestoreRunning      RestorePhase = "Running"
	RestoreSucceeded    RestorePhase = "Succeeded"
	RestoreFailed       RestorePhase = "Failed"
	RestoreInvalid      RestorePhase = "Invalid"
	RestorePhaseUnknown RestorePhase = "Unknown"
)

// ComponentRestoreStatus is the restore status of one component.
type ComponentRestoreStatus struct {
	// Phase of the component's restore.
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`

	// Duration the component's restore took.
	// +optional
	Duration string `json:"duration,omitempty"`

	// Error says why the component's restore failed.
	// +optional
	Error string `json:"error,omitempty"`

	// Progress of a running restore.
	// +optional
	Progress *RestoreProgress `json:"progress,omitempty"`

	// Manifests counts the objects a restore of Kubernetes objects
	// (kubedump-addon's manifest-restore) handled.
	// +optional
	Manifests *ManifestRestoreCounts `json:"manifests,omitempty"`

	// Plan says what the restore would do, for a dry run (task param
	// dryRun "true"), which writes nothing; a real restore reports it
	// when its space check had to walk the tree.
	// +optional
	Plan *RestorePlan `json:"plan,omitempty"`

	// Verification is what re-reading the restored files found (task
	// param verify "true").
	// +optional
	Verification *RestoreVerification `json:"verification,omitempty"`
}

// RestorePlan is what a restore of a component would do to its target.
type RestorePlan struct {
	// Files the restore would write: new, or overwritten.
	Files int64 `json:"files"`
	// Directories it would create.
	Directories int64 `json:"directories"`
	// Symlinks it would create or replace.
	Symlinks int64 `json:"symlinks"`
	// Bytes of the files it would write.
	Bytes int64 `json:"bytes"`
	// OverwrittenFiles exist with another size or mtime and would be
	// rewritten (counted in files).
	OverwrittenFiles int64 `json:"overwrittenFiles"`
	// KeptFiles already match in size and mtime; resume skips them.
	KeptFiles int64 `json:"keptFiles"`
	// KeptBytes is their size.
	KeptBytes int64 `json:"keptBytes"`
	// DeletedEntries deleteExtra would remove (a directory counts once).
	DeletedEntries int64 `json:"deletedEntries"`
	// Volumes are the filesystems the restore writes to.
	// +optional
	// +listType=atomic
	Volumes []RestorePlanVolume `json:"volumes,omitempty"`
}

// RestorePlanVolume is the space on one filesystem a restore writes to.
type RestorePlanVolume struct {
	// Path is the first restore destination on the filesystem.
	Path string `json:"path"`
	// FreeBytes on it (statfs f_bavail).
	FreeBytes int64 `json:"freeBytes"`
	// NeededBytes is the space the restore would take there: the files it
	// writes minus what the files it overwrites occupy now.
	NeededBytes int64 `json:"neededBytes"`
	// Fits is false when the restore needs more than is free.
	Fits bool `json:"fits"`
}

// RestoreVerification is what re-reading a component's restored files
// found: each file's kopia object ID recomputed with the repository's
// splitter and hash, its mode, size and mtime, compared with the snapshot.
type RestoreVerification struct {
	// Files read back and compared.
	Files int64 `json:"files"`
	// Bytes read back.
	Bytes int64 `json:"bytes"`
	// Symlinks whose targets were compared.
	Symlinks int64 `json:"symlinks"`
	// Mismatches counts the entries that differ from the snapshot.
	Mismatches int64 `json:"mismatches"`
	// FirstMismatches name the first of them, "path: what differs".
	// +optional
	// +listType=atomic
	FirstMismatches []string `json:"firstMismatches,omitempty"`
}

// ManifestRestoreCounts tally a restore of Kubernetes objects.
type ManifestRestoreCounts struct {
	// Created objects did not exist and were created.
	Created int32 `json:"created"`
	// AlreadyExisted objects were left as they were.
	AlreadyExisted int32 `json:"alreadyExisted"`
	// Updated objects existed with other content and were overwritten
	// (OverrideResources).
	Updated int32 `json:"updated"`
	// Skipped objects are never restored (events, nodes, finished pods...).
	Skipped int32 `json:"skipped"`
	// Failed objects could not be restored.
	Failed int32 `json:"failed"`
	// Failures name the first failed objects and why.
	// +optional
	// +listType=atomic
	Failures []string `json:"failures,omitempty"`
}

// RestoreProgress is how far a component's restore has come.
type RestoreProgress struct {
	// TotalBytes is the size of the data to restore.
	// +optional
	TotalBytes int64 `json:"totalBytes,omitempty"`
	// RestoredBytes is the size of the data restored so far.
	// +optional
	RestoredBytes int64 `json:"restoredBytes,omitempty"`
	// TotalFiles is the number of files to restore.
	// +optional
	TotalFiles int64 `json:"totalFiles,omitempty"`
	// RestoredFiles is the number of files restored so far.
	// +optional
	RestoredFiles int64 `json:"restoredFiles,omitempty"`
	// Percentage of TotalBytes restored, 0 to 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percentage int32 `json:"percentage,omitempty"`
	// Speed is the recent restore rate, e.g. "84.2 MiB/s".
	// +optional
	Speed string `json:"speed,omitempty"`
	// ETA is the estimated time left, e.g. "1m20s".
	// +optional
	ETA string `json:"eta,omitempty"`
	// LastUpdateTime is when the executor last reported progress.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// HookStatus is the state of the pre- and post-restore hooks.
type HookStatus struct {
	// PreHooks is the state of each pre-restore hook.
	// +optional
	PreHooks []HookExecutionStatus `json:"preHooks,omitempty"`
	// PostHooks is the state of each post-restore hook.
	// +optional
	PostHooks []HookExecutionStatus `json:"postHooks,omitempty"`
}

// ResourceFoundStatus says whether an object the restore needs exists.
type ResourceFoundStatus struct {
	// APIGroup of the object; empty for the core group.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the object.
	Kind string `json:"kind"`
	// Namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	Name string `json:"name"`
	// Found is true when the object exists.
	Found bool `json:"found"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RestoreSessionList is a list of RestoreSessions.
type RestoreSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RestoreSession `json:"items"`
}

// Package invocation is the contract between the controller, which builds the
// restore Jobs, and the executor, which runs in them: the environment the
// controller sets on every executor container, the variables it substitutes
// into an addon Function's command and args, and the task parameters the
// executor understands.
//
// Both sides import these names; neither spells them on its own.
package invocation

// Environment variables the controller sets on every restore executor
// container. The executor reads its inputs from them when no flag is given.
const (
	// EnvNamespace is the namespace of the RestoreSession.
	EnvNamespace = "RESTORE_NAMESPACE"
	// EnvRestoreSession is the name of the RestoreSession.
	EnvRestoreSession = "RESTORE_SESSION"
	// EnvComponent is the snapshot component this Job restores (pod-0, dump …).
	EnvComponent = "RESTORE_COMPONENT"
	// EnvSnapshot is the resolved Snapshot name: never "latest".
	EnvSnapshot = "RESTORE_SNAPSHOT"
	// EnvTaskName is the addon restore task the Job runs.
	EnvTaskName = "RESTORE_TASK"
	// EnvScratchDir is a writable directory for repository config and caches.
	EnvScratchDir = "RESTORE_SCRATCH_DIR"
	// EnvTargetMountPaths lists, separated by ':', the mount paths of the
	// target's volumes in the executor container. The executor refuses to
	// restore anything outside them. Empty means the Job mounts no target
	// volume and the executor restores relative to its target root only.
	EnvTargetMountPaths = "RESTORE_TARGET_MOUNT_PATHS"
	// EnvNiceAdjustment, EnvIONiceClass and EnvIONiceClassData carry the
	// containerRuntimeSettings nice and ionice values; the executor applies
	// them to its own process before it reads any data.
	// EnvTerminationMessagePath is the file the executor writes why it
	// failed into (at most TerminationMessageLimit bytes) before it exits:
	// the container's terminationMessagePath, so a failure the executor
	// could not report in the RestoreSession's status (bad flags, no API
	// access) reaches the controller through the pod's status. Unset, the
	// executor writes no such file.
	EnvTerminationMessagePath = "RESTORE_TERMINATION_MESSAGE_PATH"
	EnvNiceAdjustment         = "RESTORE_NICE_ADJUSTMENT"
	EnvIONiceClass            = "RESTORE_IONICE_CLASS"
	EnvIONiceClassData        = "RESTORE_IONICE_CLASS_DATA"
)

// TerminationMessageLimit is the most the kubelet keeps of a container's
// termination message, in bytes.
const TerminationMessageLimit = 4096

// ScratchDir is where the controller mounts an emptyDir for the executor's
// scratch space unless the addon's volumeTemplate provides one.
const ScratchDir = "/kubestash-tmp"

// Variables substituted into a Function's command and args as ${name} or
// ${name:=default}. Task parameters (spec.addon.tasks[].params, defaulted
// from the Addon's parameter definitions) are substituted by their own names.
const (
	VarNamespace       = "namespace"
	VarRestoreSession  = "restoreSession"
	VarSnapshotName    = "snapshotName"
	VarComponent       = "component"
	VarTaskName        = "taskName"
	VarAddonName       = "addonName"
	VarRepoName        = "repoName"
	VarScratchDir      = "scratchDir"
	VarTargetName      = "targetName"
	VarTargetKind      = "targetKind"
	VarTargetNamespace = "targetNamespace"
)

// Task parameters the executor's restore understands. An Addon declares them
// in restoreTasks[].parameters and its Function passes them as flags.
const (
	// ParamInclude: comma-separated paths inside the snapshot to restore
	// (partial restore). Empty restores everything.
	ParamInclude = "include"
	// ParamExclude: comma-separated glob patterns of paths not to restore.
	ParamExclude = "exclude"
	// ParamParallel: number of files restored at once.
	ParamParallel = "parallel"
	// ParamResume: skip files whose size and mtime already match, so a
	// retried Job continues where the last one stopped (default true).
	ParamResume = "resume"
	// ParamDeleteExtra: delete files in the target that the snapshot lacks.
	ParamDeleteExtra = "deleteExtra"
	// ParamSparse: write files sparsely where they hold zero runs.
	ParamSparse = "sparse"
	// ParamDryRun: read the snapshot and the target, write nothing, and
	// report in the component's status what a restore would do (its plan);
	// the RestoreSession ends Succeeded with the Planned condition.
	ParamDryRun = "dryRun"
	// ParamVerify: after the restore, re-read every restored file and
	// compare its kopia object ID, mode, size and mtime with the snapshot;
	// a mismatch fails the component.
	ParamVerify = "verify"
	// ParamBandwidthLimit: bytes read from the storage per second, a
	// Kubernetes quantity ("50Mi"); empty or "0" is unlimited.
	ParamBandwidthLimit = "bandwidthLimit"
)

// TaskManifestRestore is the name of the addon restore task that restores
// object manifests instead of data (KubeStash's KubeDB addons call it so).
// The controller recognises a manifest restore by this task name: its Job
// mounts no target volumes. For the kubedb-addon's task the RestoreSession
// must name an existing restore namespace (spec.manifestOptions) and the
// executor's Role there may get and create Secrets and the KubeDB
// databases; the kubedump-addon's task restores objects where they came
// from, as the jobTemplate's service account. Its Function runs the
// executor's restore-manifests subcommand, which takes the same flags and
// environment as restore.
const TaskManifestRestore = "manifest-restore"

// TaskVolumeSnapshotRestore is the pvc-addon's restore task that creates
// new PVCs from the CSI VolumeSnapshots a VolumeSnapshotter backup
// recorded (status.components[<name>].volumeSnapshotterStats) instead of
// restoring data into volumes. TaskVolumeSnapshotRestoreAlias is the older
// name KubeStash's docs use for it. The controller recognises the task by
// these names (RestoresVolumeSnapshots): its Job mounts no target volumes
// and its executor may create PVCs in the RestoreSession's namespace. Its
// Function runs the executor's restore-volumesnapshot subcommand.
const (
	TaskVolumeSnapshotRestore      = "volume-snapshot-restore"
	TaskVolumeSnapshotRestoreAlias = "VolumeSnapshotRestore"
)

// RestoresVolumeSnapshots reports whether the restore task named task
// creates PVCs from VolumeSnapshots.
func RestoresVolumeSnapshots(task string) bool {
	return task == TaskVolumeSnapshotRestore || task == TaskVolumeSnapshotRestoreAlias
}

// FieldManagerForComponent is the server-side-apply field manager an executor
// uses for its component's status entry, so executors of different
// components never take each other's fields.
func FieldManagerForComponent(component string) string {
	return "restore-executor/" + component
}

// Exit codes of the executor's restore. A failure no retry can fix (a wrong
// password, a missing snapshot, a corrupt repository) is reported as the
// component's Failed phase and ends with ExitCodePermanentFailure: the
// controller's Jobs fail at once on it (podFailurePolicy). Any other
// failure (unreachable storage, API errors, a killed pod) keeps the
// component Running with the error and ends with ExitCodeRetryableFailure:
// the Job retries, and the retry resumes.
const (
	ExitCodeRetryableFailure = 1
	ExitCodePermanentFailure = 3
)

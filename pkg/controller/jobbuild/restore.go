package jobbuild

import (
	"fmt"
	"maps"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// Task is a restore task of the RestoreSession (spec.addon.tasks[]) with
// the Addon's restore task and the Function it names, and its params
// merged over the Addon's defaults.
type Task struct {
	Ref       corev1alpha1.TaskReference
	AddonTask addonsv1alpha1.Task
	Function  *addonsv1alpha1.Function
	Params    map[string]string
}

// RestoresManifests reports whether the task restores object manifests
// (see invocation.TaskManifestRestore) rather than data into target
// volumes.
func (t Task) RestoresManifests() bool {
	return t.Ref.Name == invocation.TaskManifestRestore
}

// RestoresVolumeSnapshots reports whether the task creates PVCs from
// VolumeSnapshots (see invocation.TaskVolumeSnapshotRestore): its
// volumeClaimTemplates describe claims the executor creates, not volumes
// to mount, and it writes to the API only.
func (t Task) RestoresVolumeSnapshots() bool {
	return invocation.RestoresVolumeSnapshots(t.Ref.Name)
}

// ReadStorage is the BackupStorage the restore Jobs read: bs, or nil for a
// restore that reads no repository data (refs.ReadsRepositoryData, a
// volume snapshot restore). Such a Job gets nothing of the storage: no
// backend volume, none of its runtime settings (their env may carry
// credentials), not its service account, and its Pod Security is not
// checked against it.
func ReadStorage(rs *corev1alpha1.RestoreSession, bs *storagev1alpha1.BackupStorage) *storagev1alpha1.BackupStorage {
	if !refs.ReadsRepositoryData(rs) {
		return nil
	}
	return bs
}

// RestoreJobInput is what the restore Job of one component is built from.
type RestoreJobInput struct {
	Meta
	RestoreSession *corev1alpha1.RestoreSession
	Component      string
	// Components are all the components the restore restores: a PVC
	// target without targetVolumes is mounted where all of them came from.
	Components []string
	Tasks      []Task
	Snapshot   *storagev1alpha1.Snapshot
	Storage    *storagev1alpha1.BackupStorage
	// TargetClaimTemplates are the volumeClaimTemplates of a StatefulSet
	// target; TargetPodVolumes and TargetContainers are the volumes and
	// containers of a workload target's pod template (what its pods mount
	// where). All are empty for a PVC target.
	TargetClaimTemplates []corev1.PersistentVolumeClaim
	TargetPodVolumes     []corev1.Volume
	TargetContainers     []corev1.Container
	// Variables describe the restore; each task adds its own (the
	// component, the task's name and params).
	Variables      map[string]string
	ServiceAccount string
	BackoffLimit   int32
	PodSecurity    PodSecurity
	Now            time.Time
}

// RestoreJob returns the restore Job of one component: one container per
// task, in order, each running the task's Function with the invocation
// environment and the backend, scratch, target and addon volumes, under
// spec.addon.jobTemplate and containerRuntimeSettings, over the storage's
// and the Function's runtime settings (defaults, see defaultsettings.go). A Job the
// namespace's Pod Security would not let start is an error.
func RestoreJob(in RestoreJobInput) (*batchv1.Job, error) {
	rs := in.RestoreSession
	if len(in.Tasks) == 0 {
		return nil, fmt.Errorf("no restore task of Addon %q can be resolved", rs.Spec.Addon.Name)
	}
	if in.Snapshot == nil {
		return nil, fmt.Errorf("Snapshot %q was deleted after validation", refs.ResolvedSnapshotName(rs))
	}
	in.Storage = ReadStorage(rs, in.Storage)

	targets := make([]taskTarget, len(in.Tasks))
	node := ""
	for i, t := range in.Tasks {
		target, err := resolveTarget(in, i, t)
		if err != nil {
			return nil, err
		}
		// A restore into a target must land in the target's volumes:
		// without any, the restore executor would write into its own
		// container's filesystem and report success for data that
		// vanishes with the pod. Manifest and volume snapshot tasks write
		// to the API, not to volumes.
		if tg := rs.Spec.Target; tg != nil && len(target.mounts) == 0 && !t.RestoresManifests() && !t.RestoresVolumeSnapshots() {
			return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes: no volume of %s %s to restore into; "+
				"name the target's volumes and their volumeMounts (a PersistentVolumeClaim target, or a workload that mounts volumes keeping data, needs none)",
				i, tg.Kind, tg.Name)
		}
		if node != "" && target.node != "" && target.node != node {
			return nil, fmt.Errorf("spec.addon.tasks[%d]: restores into hostPath volumes of node %s, another task into node %s's", i, target.node, node)
		}
		if target.node != "" {
			node = target.node
		}
		targets[i] = target
	}
	volumes, mounts := jobVolumes(in, targets)

	containers := make([]containerInput, 0, len(in.Tasks))
	for i, t := range in.Tasks {
		containers = append(containers, containerInput{
			Name:      names.Container(t.Ref.Name, i),
			Function:  t.Function,
			Variables: taskVariables(in, t),
			Env:       invocationEnv(in, t, targets[i]),
			ExtraEnv:  t.Ref.Variables,
			Mounts:    append(append([]corev1.VolumeMount{}, mounts...), t.AddonTask.VolumeMounts...),
			Ports:     t.Function.Spec.Ports,
			// The storage's and the Function's runtime settings are
			// defaults under the RestoreSession's.
			Defaults:     containerDefaults(in.Storage, t.Function),
			AsRoot:       true,
			ErrorContext: fmt.Sprintf("task %q", t.Ref.Name),
		})
	}
	return build(jobInput{
		Meta:              in.Meta,
		RestoreSession:    rs,
		Containers:        containers,
		Volumes:           volumes,
		Template:          rs.Spec.Addon.JobTemplate,
		ContainerSettings: rs.Spec.Addon.ContainerRuntimeSettings,
		PodDefaults:       storagePodDefaults(in.Storage),
		ServiceAccount:    in.ServiceAccount,
		BackoffLimit:      in.BackoffLimit,
		// A restore executor that reported its component Failed exits with
		// ExitCodePermanentFailure: retrying cannot help, fail the Job
		// at once. Pods evicted or preempted are retried without
		// counting against the backoff limit.
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{invocation.ExitCodePermanentFailure}},
			},
			{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			},
		}},
		PodSecurity: in.PodSecurity,
		Node:        node,
		Now:         in.Now,
	})
}

// taskVariables are the values a Function's command and args may refer to.
func taskVariables(in RestoreJobInput, t Task) map[string]string {
	vars := maps.Clone(in.Variables)
	if vars == nil {
		vars = map[string]string{}
	}
	maps.Copy(vars, t.Params)
	invocation.AddLiteralVariables(vars, t.Ref.Variables)
	vars[invocation.VarComponent] = in.Component
	vars[invocation.VarTaskName] = t.Ref.Name
	return vars
}

// invocationEnv is the environment of the invocation contract.
func invocationEnv(in RestoreJobInput, t Task, target taskTarget) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: invocation.EnvNamespace, Value: in.RestoreSession.Namespace},
		{Name: invocation.EnvRestoreSession, Value: in.RestoreSession.Name},
		{Name: invocation.EnvComponent, Value: in.Component},
		{Name: invocation.EnvSnapshot, Value: in.Snapshot.Name},
		{Name: invocation.EnvTaskName, Value: t.Ref.Name},
		{Name: invocation.EnvScratchDir, Value: invocation.ScratchDir},
		{Name: invocation.EnvTargetMountPaths, Value: strings.Join(target.mountPaths(), ":")},
		// The container's terminationMessagePath is the API's default.
		{Name: invocation.EnvTerminationMessagePath, Value: corev1.TerminationMessagePathDefault},
	}
}

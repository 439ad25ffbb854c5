package controller

import (
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// Names of the volumes the controller adds to every restore Job.
const (
	volumeBackend = "kubestash-backend"
	volumeScratch = "kubestash-tmp-volume"
)

// userError is a problem with the RestoreSession or the objects it refers to
// that no retry can fix: building the Job fails until the user changes
// something, and the restore fails with this message.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, args ...any) error { return &userError{fmt.Sprintf(format, args...)} }

// restoreJobInput is what the restore Job of one component is built from.
type restoreJobInput struct {
	RestoreSession *corev1alpha1.RestoreSession
	// Name, Labels and Annotations are the Job's.
	Name                string
	Labels, Annotations map[string]string
	Component           string
	// Components are all the components the restore restores: a PVC
	// target without targetVolumes is mounted where all of them came from.
	Components []string
	Tasks      []resolvedTask
	Snapshot   *storagev1alpha1.Snapshot
	Storage    *storagev1alpha1.BackupStorage
	// TargetClaimTemplates are the volumeClaimTemplates of a StatefulSet
	// target, TargetContainers the containers of its pod template (where
	// they mount the claims); both are empty for other targets.
	TargetClaimTemplates []corev1.PersistentVolumeClaim
	TargetContainers     []corev1.Container
	// Variables describe the restore (restoreVariables); each task adds
	// its own.
	Variables      map[string]string
	ServiceAccount string
	BackoffLimit   int32
	PodSecurity    podSecurity
	Now            time.Time
}

// buildRestoreJob returns the restore Job of one component: one container
// per task, in order, each running the task's Function with the invocation
// environment, the backend, scratch, target and addon volumes, under
// spec.addon.jobTemplate and containerRuntimeSettings (see buildJob). A
// Job the namespace's Pod Security would not let start is an error.
func buildRestoreJob(in restoreJobInput) (*batchv1.Job, error) {
	rs := in.RestoreSession
	if len(in.Tasks) == 0 {
		return nil, userErrorf("no restore task of Addon %q can be resolved", rs.Spec.Addon.Name)
	}
	if in.Snapshot == nil {
		return nil, userErrorf("Snapshot %q was deleted after validation", refs.ResolvedSnapshotName(rs))
	}

	volumes, mounts, err := jobVolumes(in)
	if err != nil {
		return nil, err
	}

	// A restore into a target must land in the target's volumes: without
	// any, the executor would write into its own container's filesystem
	// and report success for data that vanishes with the pod. A manifest
	// task writes to the API, not to volumes.
	if tg := rs.Spec.Target; tg != nil {
		for i, t := range in.Tasks {
			if len(targetMounts(in, t)) == 0 && !isManifestTask(t) {
				return nil, userErrorf("spec.addon.tasks[%d].targetVolumes: no volume of %s %s to restore into; "+
					"name the target's volumes and their volumeMounts (a PersistentVolumeClaim target, or a StatefulSet with volumeClaimTemplates, needs none)",
					i, tg.Kind, tg.Name)
			}
		}
	}

	containers := make([]containerInput, 0, len(in.Tasks))
	for i, t := range in.Tasks {
		containers = append(containers, containerInput{
			Name:         containerName(t.ref.Name, i),
			Function:     t.function,
			Variables:    taskVariables(in, t),
			Env:          invocationEnv(in, t),
			ExtraEnv:     t.ref.Variables,
			Mounts:       append(append([]corev1.VolumeMount{}, mounts...), t.task.VolumeMounts...),
			Ports:        t.function.Spec.Ports,
			AsRoot:       true,
			ErrorContext: fmt.Sprintf("task %q", t.ref.Name),
		})
	}
	return buildJob(jobInput{
		Owner:             rs,
		Name:              in.Name,
		Labels:            in.Labels,
		Annotations:       in.Annotations,
		Containers:        containers,
		Volumes:           volumes,
		Template:          rs.Spec.Addon.JobTemplate,
		ContainerSettings: rs.Spec.Addon.ContainerRuntimeSettings,
		ServiceAccount:    in.ServiceAccount,
		BackoffLimit:      in.BackoffLimit,
		// An executor that reported its component Failed exits with
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
		Now:         in.Now,
	})
}

// taskVariables are the values a Function's command and args may refer to.
func taskVariables(in restoreJobInput, t resolvedTask) map[string]string {
	vars := maps.Clone(in.Variables)
	if vars == nil {
		vars = map[string]string{}
	}
	maps.Copy(vars, t.params)
	addPlainVariables(vars, t.ref.Variables)
	vars[invocation.VarComponent] = in.Component
	vars[invocation.VarTaskName] = t.ref.Name
	return vars
}

// invocationEnv is the environment of the invocation contract.
func invocationEnv(in restoreJobInput, t resolvedTask) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: invocation.EnvNamespace, Value: in.RestoreSession.Namespace},
		{Name: invocation.EnvRestoreSession, Value: in.RestoreSession.Name},
		{Name: invocation.EnvComponent, Value: in.Component},
		{Name: invocation.EnvSnapshot, Value: in.Snapshot.Name},
		{Name: invocation.EnvTaskName, Value: t.ref.Name},
		{Name: invocation.EnvScratchDir, Value: invocation.ScratchDir},
		{Name: invocation.EnvTargetMountPaths, Value: strings.Join(targetMountPaths(in, t), ":")},
	}
}

// targetMountPaths are the mount paths of the task's target volumes: the
// only places the executor may write to.
func targetMountPaths(in restoreJobInput, t resolvedTask) []string {
	var paths []string
	for _, m := range targetMounts(in, t) {
		paths = append(paths, m.MountPath)
	}
	return paths
}

// jobVolumes returns the volumes of a component's Job and the mounts every
// task container gets: the backend storage, the scratch directory, the
// target's volumes and the addon's volumes.
func jobVolumes(in restoreJobInput) ([]corev1.Volume, []corev1.VolumeMount, error) {
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if bs := in.Storage; bs != nil && bs.Spec.Storage.Provider == storagev1alpha1.ProviderLocal && bs.Spec.Storage.Local != nil {
		local := bs.Spec.Storage.Local
		volumes = append(volumes, corev1.Volume{Name: volumeBackend, VolumeSource: local.VolumeSource})
		mounts = append(mounts, corev1.VolumeMount{Name: volumeBackend, MountPath: local.MountPath, SubPath: local.SubPath})
	}

	seen := map[string]bool{}
	for _, t := range in.Tasks {
		targetVols, err := targetVolumes(in, t)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range targetVols {
			if !seen[v.Name] {
				seen[v.Name] = true
				volumes = append(volumes, v)
			}
		}
		mounts = append(mounts, targetMounts(in, t)...)
		for _, v := range addonVolumes(t) {
			if !seen[v.Name] {
				seen[v.Name] = true
				volumes = append(volumes, v)
			}
		}
	}
	if !seen[volumeScratch] && !mountsPath(in.Tasks, invocation.ScratchDir) {
		volumes = append(volumes, corev1.Volume{Name: volumeScratch, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: volumeScratch, MountPath: invocation.ScratchDir})
	}
	return volumes, dedupeMounts(mounts), nil
}

// mountsPath reports whether an addon task mounts something at p already.
func mountsPath(tasks []resolvedTask, p string) bool {
	for _, t := range tasks {
		for _, m := range t.task.VolumeMounts {
			if path.Clean(m.MountPath) == p {
				return true
			}
		}
	}
	return false
}

// targetVolumes are the volumes of the target that the task restores into,
// for one component.
//   - targetVolumes.volumes as given; in a PVC claimName, ${POD_ORDINAL}
//     and ${component} are replaced, so one entry serves every replica.
//   - targetVolumes.volumeClaimTemplates: for a StatefulSet, the PVC of the
//     component's ordinal ("<template>-<statefulset>-<ordinal>", created
//     from the template when missing); otherwise the PVC named like the
//     template.
//   - neither, and the target is a PVC: that PVC.
//   - neither, and the target is a StatefulSet: the PVCs of its own
//     volumeClaimTemplates for the component's ordinal.
func targetVolumes(in restoreJobInput, t resolvedTask) ([]corev1.Volume, error) {
	tv := t.ref.TargetVolumes
	component := in.Component
	ordinal, hasOrdinal := podOrdinal(component)
	var volumes []corev1.Volume
	if tv != nil {
		vars := map[string]string{"component": component}
		if hasOrdinal {
			vars["POD_ORDINAL"] = strconv.Itoa(ordinal)
		}
		for _, v := range tv.Volumes {
			v = *v.DeepCopy()
			if pvc := v.PersistentVolumeClaim; pvc != nil {
				name, err := substitute(pvc.ClaimName, vars)
				if err != nil {
					return nil, userErrorf("spec.addon.tasks[%s].targetVolumes.volumes[%s].persistentVolumeClaim.claimName: %v", t.ref.Name, v.Name, err)
				}
				pvc.ClaimName = name
			}
			volumes = append(volumes, v)
		}
		for _, tpl := range tv.VolumeClaimTemplates {
			claim, err := claimForTemplate(in.RestoreSession, tpl.Name, component)
			if err != nil {
				return nil, err
			}
			volumes = append(volumes, pvcVolume(tpl.Name, claim))
		}
		if len(volumes) > 0 {
			return volumes, nil
		}
	}
	tg := in.RestoreSession.Spec.Target
	switch {
	case tg == nil:
		return nil, nil
	case tg.Kind == kindPVC:
		return []corev1.Volume{pvcVolume(defaultTargetVolume, tg.Name)}, nil
	case tg.Kind == kindStatefulSet:
		for _, tpl := range in.TargetClaimTemplates {
			claim, err := claimForTemplate(in.RestoreSession, tpl.Name, component)
			if err != nil {
				return nil, err
			}
			volumes = append(volumes, pvcVolume(tpl.Name, claim))
		}
		return volumes, nil
	default:
		return nil, nil
	}
}

// defaultTargetVolume is the volume name of a PVC target restored without
// targetVolumes.
const defaultTargetVolume = "target"

// targetMounts are where the task's target volumes are mounted: the
// targetVolumes.volumeMounts given, or by default where the data came from.
// For a PVC target that is the component's single hostPath; for a
// StatefulSet, where its containers mount its claim templates.
func targetMounts(in restoreJobInput, t resolvedTask) []corev1.VolumeMount {
	if tv := t.ref.TargetVolumes; tv != nil && len(tv.VolumeMounts) > 0 {
		return tv.VolumeMounts
	}
	tg := in.RestoreSession.Spec.Target
	switch {
	case tg == nil:
		return nil
	case tg.Kind == kindPVC:
		if p, ok := singleHostPath(in.Snapshot, in.Components); ok {
			return []corev1.VolumeMount{{Name: defaultTargetVolume, MountPath: p}}
		}
	case tg.Kind == kindStatefulSet:
		var mounts []corev1.VolumeMount
		for _, tpl := range in.TargetClaimTemplates {
			for _, ctr := range in.TargetContainers {
				for _, m := range ctr.VolumeMounts {
					if m.Name == tpl.Name {
						mounts = append(mounts, corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath})
					}
				}
			}
		}
		return dedupeMounts(mounts)
	}
	return nil
}

// singleHostPath is the one path all the components were backed up from,
// if there is exactly one.
func singleHostPath(snapshot *storagev1alpha1.Snapshot, components []string) (string, bool) {
	if snapshot == nil {
		return "", false
	}
	found := ""
	for _, comp := range components {
		for _, st := range snapshot.Status.Components[comp].KopiaStats {
			if found != "" && found != st.HostPath {
				return "", false
			}
			found = st.HostPath
		}
	}
	return found, found != ""
}

// claimForTemplate names the PVC of a claim template for a component.
func claimForTemplate(rs *corev1alpha1.RestoreSession, template, component string) (string, error) {
	tg := rs.Spec.Target
	if tg == nil || tg.Kind != kindStatefulSet {
		return template, nil
	}
	ordinal, ok := podOrdinal(component)
	if !ok {
		return "", userErrorf("component %q of a StatefulSet restore must be named pod-<ordinal> to choose the replica's volume", component)
	}
	return fmt.Sprintf("%s-%s-%d", template, tg.Name, ordinal), nil
}

// podOrdinal parses the ordinal of a StatefulSet component ("pod-2" → 2).
func podOrdinal(component string) (int, bool) {
	rest, ok := strings.CutPrefix(component, "pod-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func pvcVolume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
	}}
}

// addonVolumes are the task's volumeTemplate volumes, each replaced by the
// user's addonVolumes entry of the same name. A template for a claim becomes
// an ephemeral volume: the PVC lives and dies with the Job's pod.
func addonVolumes(t resolvedTask) []corev1.Volume {
	overrides := map[string]*common.VolumeSource{}
	for _, av := range t.ref.AddonVolumes {
		overrides[av.Name] = av.Source
	}
	var volumes []corev1.Volume
	for _, vt := range t.task.VolumeTemplate {
		src := vt.Source
		if o, ok := overrides[vt.Name]; ok && o != nil {
			src = o
		}
		if src == nil {
			continue
		}
		v := corev1.Volume{Name: vt.Name, VolumeSource: *src.VolumeSource.DeepCopy()}
		if src.VolumeClaimTemplate != nil {
			v.VolumeSource = corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: src.VolumeClaimTemplate.DeepCopy()}}
		}
		volumes = append(volumes, v)
	}
	return volumes
}

// containerName is a valid, unique container name for a task.
func containerName(task string, index int) string {
	return boundedName(fmt.Sprintf("%s-%d", task, index), 63)
}

// targetClaims are the PVCs the component's target volumes come from that
// claim templates describe: the user's targetVolumes.volumeClaimTemplates,
// or a StatefulSet target's own when no targetVolumes are given. The
// caller creates those that do not exist yet (a StatefulSet's replica PVCs
// before the StatefulSet creates them).
func targetClaims(in restoreJobInput) ([]targetClaim, error) {
	var claims []targetClaim
	for _, t := range in.Tasks {
		for _, tpl := range claimTemplates(in, t) {
			claim, err := claimForTemplate(in.RestoreSession, tpl.Name, in.Component)
			if err != nil {
				return nil, err
			}
			claims = append(claims, targetClaim{Template: tpl.Name, PVC: &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{
					Name:        claim,
					Namespace:   in.RestoreSession.Namespace,
					Labels:      tpl.Labels,
					Annotations: tpl.Annotations,
				},
				Spec: *tpl.Spec.DeepCopy(),
			}})
		}
	}
	return claims, nil
}

// targetClaim is a target PVC and the claim template it is made from.
type targetClaim struct {
	Template string
	PVC      *corev1.PersistentVolumeClaim
}

// claimTemplates are the claim templates the task's target volumes come
// from: the user's, or a StatefulSet target's own when none are given.
func claimTemplates(in restoreJobInput, t resolvedTask) []corev1.PersistentVolumeClaimTemplate {
	if tv := t.ref.TargetVolumes; tv != nil && (len(tv.Volumes) > 0 || len(tv.VolumeClaimTemplates) > 0) {
		return tv.VolumeClaimTemplates
	}
	if tg := in.RestoreSession.Spec.Target; tg != nil && tg.Kind == kindStatefulSet {
		var out []corev1.PersistentVolumeClaimTemplate
		for _, pvc := range in.TargetClaimTemplates {
			out = append(out, corev1.PersistentVolumeClaimTemplate{
				ObjectMeta: metav1.ObjectMeta{Name: pvc.Name, Labels: pvc.Labels, Annotations: pvc.Annotations},
				Spec:       pvc.Spec,
			})
		}
		return out
	}
	return nil
}

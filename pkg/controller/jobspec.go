package controller

import (
	"fmt"
	"maps"
	"math"
	"path"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

// buildJob returns the restore Job of one component, with the security
// context of the namespace's Pod Security level (see podsecurity.go). It is
// a pure function of the restore state: the same state always yields the
// same Job. A Job the namespace's Pod Security would not let start is an
// error.
func buildJob(s *restoreState, component, serviceAccount string, backoffLimit int32, pss podSecurity) (*batchv1.Job, error) {
	rs := s.rs
	if len(s.tasks) == 0 {
		return nil, userErrorf("no restore task of Addon %q can be resolved", rs.Spec.Addon.Name)
	}
	if s.snapshot == nil {
		return nil, userErrorf("Snapshot %q was deleted after validation", refs.ResolvedSnapshotName(rs))
	}
	jt := rs.Spec.Addon.JobTemplate
	if jt == nil {
		jt = &corev1alpha1.PodTemplateSpec{}
	}

	volumes, mounts, err := jobVolumes(s, component)
	if err != nil {
		return nil, err
	}
	volumes = append(volumes, jt.Spec.Volumes...)

	// A restore into a target must land in the target's volumes: without
	// any, the executor would write into its own container's filesystem
	// and report success for data that vanishes with the pod. A manifest
	// task writes to the API, not to volumes.
	if tg := rs.Spec.Target; tg != nil {
		for i, t := range s.tasks {
			if len(targetMounts(s, t)) == 0 && !isManifestTask(t) {
				return nil, userErrorf("spec.addon.tasks[%d].targetVolumes: no volume of %s %s to restore into; "+
					"name the target's volumes and their volumeMounts (a PersistentVolumeClaim target, or a StatefulSet with volumeClaimTemplates, needs none)",
					i, tg.Kind, tg.Name)
			}
		}
	}

	var containers []corev1.Container
	taskContainers := map[string]bool{}
	for i, t := range s.tasks {
		ctr, err := taskContainer(s, t, i, component, mounts, jt)
		if err != nil {
			return nil, err
		}
		containers = append(containers, ctr)
		taskContainers[ctr.Name] = true
	}
	// Tasks run in order: all but the last as init containers.
	initContainers := append(append([]corev1.Container{}, jt.Spec.InitContainers...), containers[:len(containers)-1]...)
	main := containers[len(containers)-1]

	labels := invokerLabels(rs)
	labels[LabelComponent] = labelValue(component)
	annotations := map[string]string{AnnotationComponent: component}

	podSpec := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            serviceAccount,
		Volumes:                       volumes,
		InitContainers:                initContainers,
		Containers:                    []corev1.Container{main},
		TerminationGracePeriodSeconds: jt.Spec.TerminationGracePeriodSeconds,
		DNSPolicy:                     jt.Spec.DNSPolicy,
		NodeSelector:                  jt.Spec.NodeSelector,
		HostNetwork:                   jt.Spec.HostNetwork,
		HostPID:                       jt.Spec.HostPID,
		HostIPC:                       jt.Spec.HostIPC,
		ShareProcessNamespace:         jt.Spec.ShareProcessNamespace,
		SecurityContext:               jt.Spec.SecurityContext,
		ImagePullSecrets:              jt.Spec.ImagePullSecrets,
		Affinity:                      jt.Spec.Affinity,
		SchedulerName:                 jt.Spec.SchedulerName,
		Tolerations:                   jt.Spec.Tolerations,
		PriorityClassName:             jt.Spec.PriorityClassName,
		Priority:                      jt.Spec.Priority,
		DNSConfig:                     jt.Spec.DNSConfig,
		RuntimeClassName:              jt.Spec.RuntimeClassName,
		EnableServiceLinks:            jt.Spec.EnableServiceLinks,
		TopologySpreadConstraints:     jt.Spec.TopologySpreadConstraints,
	}
	podMeta := metav1.ObjectMeta{
		Labels:      merged(jt.Metadata.Labels, labels),
		Annotations: merged(jt.Metadata.Annotations, annotations),
	}
	if rt := storageRuntimeSettings(s.storage); rt != nil {
		fillPodDefaults(&podMeta, &podSpec, rt.Pod)
	}
	// The task containers run as root where Pod Security allows it, to
	// restore file owners; the user's init containers as they are.
	pss.applySecurityDefaults(&podSpec, func(name string) bool { return taskContainers[name] })

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(rs, component),
			Namespace:       rs.Namespace,
			Labels:          merged(jt.Controller.Labels, labels),
			Annotations:     merged(jt.Controller.Annotations, annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind(kindRestoreSession))},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoffLimit),
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
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta,
				Spec:       podSpec,
			},
		},
	}
	// The Job controller enforces the deadline too, should this controller
	// be down when it passes.
	if d := rs.Status.RestoreDeadline; d != nil {
		remaining := math.Ceil(d.Sub(s.now.Time).Seconds())
		job.Spec.ActiveDeadlineSeconds = ptr.To(max(int64(remaining), 1))
	}
	if err := pss.admit(&job.Spec.Template); err != nil {
		return nil, err
	}
	return job, nil
}

// taskContainer is the container that runs one restore task: the task's
// Function with its variables substituted, the invocation environment, the
// mounts, and the user's container runtime settings.
func taskContainer(s *restoreState, t resolvedTask, index int, component string, mounts []corev1.VolumeMount, jt *corev1alpha1.PodTemplateSpec) (corev1.Container, error) {
	rs := s.rs
	fn := t.function.Spec
	vars := taskVariables(s, t, component)
	what := fmt.Sprintf("Function %q", t.function.Name)
	command, err := substituteAll(fn.Command, vars, what+" command")
	if err != nil {
		return corev1.Container{}, userErrorf("task %q: %v", t.ref.Name, err)
	}
	args, err := substituteAll(fn.Args, vars, what+" args")
	if err != nil {
		return corev1.Container{}, userErrorf("task %q: %v", t.ref.Name, err)
	}
	args = append(args, jt.Spec.Args...)

	// The storage's and the Function's runtime settings are defaults under
	// the RestoreSession's (see defaultsettings.go).
	defaults := containerDefaults(s.storage, t.function)
	env := invocationEnv(s, t, component)
	if defaults != nil {
		env = append(env, defaults.Env...)
	}
	env = append(env, fn.Env...)
	env = append(env, t.ref.Variables...)
	env = append(env, jt.Spec.Env...)

	allMounts := append([]corev1.VolumeMount{}, mounts...)
	allMounts = append(allMounts, t.task.VolumeMounts...)
	allMounts = append(allMounts, fn.VolumeMounts...)
	allMounts = append(allMounts, jt.Spec.VolumeMounts...)

	ctr := corev1.Container{
		Name:                     containerName(t.ref.Name, index),
		Image:                    fn.Image,
		Command:                  command,
		Args:                     args,
		WorkingDir:               fn.WorkingDir,
		Ports:                    fn.Ports,
		VolumeMounts:             dedupeMounts(allMounts),
		VolumeDevices:            fn.VolumeDevices,
		Resources:                ptr.Deref(jt.Spec.Resources, corev1.ResourceRequirements{}),
		LivenessProbe:            jt.Spec.LivenessProbe,
		ReadinessProbe:           jt.Spec.ReadinessProbe,
		Lifecycle:                jt.Spec.Lifecycle,
		SecurityContext:          jt.Spec.ContainerSecurityContext,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	ctr.Env = env
	fillContainerDefaults(&ctr, defaults, rs.Spec.Addon.ContainerRuntimeSettings)
	applyContainerRuntimeSettings(&ctr, rs.Spec.Addon.ContainerRuntimeSettings)
	return ctr, nil
}

// applyContainerRuntimeSettings lays the user's container runtime settings
// over a container: each setting given replaces the container's. nice and
// ionice travel as environment for the executor to apply to itself.
func applyContainerRuntimeSettings(ctr *corev1.Container, crs *corev1alpha1.ContainerRuntimeSettings) {
	if crs == nil {
		return
	}
	if crs.Resources != nil {
		ctr.Resources = *crs.Resources
	}
	if crs.LivenessProbe != nil {
		ctr.LivenessProbe = crs.LivenessProbe
	}
	if crs.ReadinessProbe != nil {
		ctr.ReadinessProbe = crs.ReadinessProbe
	}
	if crs.Lifecycle != nil {
		ctr.Lifecycle = crs.Lifecycle
	}
	if crs.SecurityContext != nil {
		ctr.SecurityContext = crs.SecurityContext
	}
	if crs.Nice != nil && crs.Nice.Adjustment != nil {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvNiceAdjustment, Value: strconv.Itoa(int(*crs.Nice.Adjustment))})
	}
	if crs.IONice != nil {
		if crs.IONice.Class != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClass, Value: strconv.Itoa(int(*crs.IONice.Class))})
		}
		if crs.IONice.ClassData != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClassData, Value: strconv.Itoa(int(*crs.IONice.ClassData))})
		}
	}
	ctr.Env = append(ctr.Env, crs.Env...)
	ctr.EnvFrom = append(ctr.EnvFrom, crs.EnvFrom...)
}

// taskVariables are the values a Function's command and args may refer to.
func taskVariables(s *restoreState, t resolvedTask, component string) map[string]string {
	vars := restoreVariables(s)
	maps.Copy(vars, t.params)
	addPlainVariables(vars, t.ref.Variables)
	vars[invocation.VarComponent] = component
	vars[invocation.VarTaskName] = t.ref.Name
	return vars
}

// restoreVariables are the variables that describe the restore itself; the
// restore tasks and the hooks share them.
func restoreVariables(s *restoreState) map[string]string {
	rs := s.rs
	vars := map[string]string{
		invocation.VarNamespace:      rs.Namespace,
		invocation.VarRestoreSession: rs.Name,
		invocation.VarAddonName:      rs.Spec.Addon.Name,
		invocation.VarScratchDir:     invocation.ScratchDir,
	}
	if s.snapshot != nil {
		vars[invocation.VarSnapshotName] = s.snapshot.Name
	}
	if s.repository != nil {
		vars[invocation.VarRepoName] = s.repository.Name
	}
	if tg := rs.Spec.Target; tg != nil {
		vars[invocation.VarTargetName] = tg.Name
		vars[invocation.VarTargetKind] = tg.Kind
		vars[invocation.VarTargetNamespace] = refs.TargetNamespace(rs)
	}
	return vars
}

// addPlainVariables adds the variables that have a literal value; those
// taken from other sources exist only in the container's environment.
func addPlainVariables(vars map[string]string, env []corev1.EnvVar) {
	for _, v := range env {
		if v.ValueFrom == nil {
			vars[v.Name] = v.Value
		}
	}
}

// invocationEnv is the environment of the invocation contract.
func invocationEnv(s *restoreState, t resolvedTask, component string) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: invocation.EnvNamespace, Value: s.rs.Namespace},
		{Name: invocation.EnvRestoreSession, Value: s.rs.Name},
		{Name: invocation.EnvComponent, Value: component},
		{Name: invocation.EnvSnapshot, Value: s.snapshot.Name},
		{Name: invocation.EnvTaskName, Value: t.ref.Name},
		{Name: invocation.EnvScratchDir, Value: invocation.ScratchDir},
		{Name: invocation.EnvTargetMountPaths, Value: strings.Join(targetMountPaths(s, t), ":")},
	}
}

// targetMountPaths are the mount paths of the task's target volumes: the
// only places the executor may write to.
func targetMountPaths(s *restoreState, t resolvedTask) []string {
	var paths []string
	for _, m := range targetMounts(s, t) {
		paths = append(paths, m.MountPath)
	}
	return paths
}

// jobVolumes returns the volumes of a component's Job and the mounts every
// task container gets: the backend storage, the scratch directory, the
// target's volumes and the addon's volumes.
func jobVolumes(s *restoreState, component string) ([]corev1.Volume, []corev1.VolumeMount, error) {
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if bs := s.storage; bs != nil && bs.Spec.Storage.Provider == storagev1alpha1.ProviderLocal && bs.Spec.Storage.Local != nil {
		local := bs.Spec.Storage.Local
		volumes = append(volumes, corev1.Volume{Name: volumeBackend, VolumeSource: local.VolumeSource})
		mounts = append(mounts, corev1.VolumeMount{Name: volumeBackend, MountPath: local.MountPath, SubPath: local.SubPath})
	}

	seen := map[string]bool{}
	for _, t := range s.tasks {
		targetVols, err := targetVolumes(s, t, component)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range targetVols {
			if !seen[v.Name] {
				seen[v.Name] = true
				volumes = append(volumes, v)
			}
		}
		mounts = append(mounts, targetMounts(s, t)...)
		for _, v := range addonVolumes(t) {
			if !seen[v.Name] {
				seen[v.Name] = true
				volumes = append(volumes, v)
			}
		}
	}
	if !seen[volumeScratch] && !mountsPath(s, invocation.ScratchDir) {
		volumes = append(volumes, corev1.Volume{Name: volumeScratch, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: volumeScratch, MountPath: invocation.ScratchDir})
	}
	return volumes, dedupeMounts(mounts), nil
}

// mountsPath reports whether an addon task mounts something at p already.
func mountsPath(s *restoreState, p string) bool {
	for _, t := range s.tasks {
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
func targetVolumes(s *restoreState, t resolvedTask, component string) ([]corev1.Volume, error) {
	tv := t.ref.TargetVolumes
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
			claim, err := claimForTemplate(s, tpl.Name, component)
			if err != nil {
				return nil, err
			}
			volumes = append(volumes, pvcVolume(tpl.Name, claim))
		}
		if len(volumes) > 0 {
			return volumes, nil
		}
	}
	tg := s.rs.Spec.Target
	switch {
	case tg == nil:
		return nil, nil
	case tg.Kind == kindPVC:
		return []corev1.Volume{pvcVolume(defaultTargetVolume, tg.Name)}, nil
	case tg.Kind == kindStatefulSet && s.statefulSet != nil:
		for _, tpl := range s.statefulSet.Spec.VolumeClaimTemplates {
			claim, err := claimForTemplate(s, tpl.Name, component)
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
func targetMounts(s *restoreState, t resolvedTask) []corev1.VolumeMount {
	if tv := t.ref.TargetVolumes; tv != nil && len(tv.VolumeMounts) > 0 {
		return tv.VolumeMounts
	}
	tg := s.rs.Spec.Target
	switch {
	case tg == nil:
		return nil
	case tg.Kind == kindPVC:
		if p, ok := singleHostPath(s); ok {
			return []corev1.VolumeMount{{Name: defaultTargetVolume, MountPath: p}}
		}
	case tg.Kind == kindStatefulSet && s.statefulSet != nil:
		var mounts []corev1.VolumeMount
		for _, tpl := range s.statefulSet.Spec.VolumeClaimTemplates {
			for _, ctr := range s.statefulSet.Spec.Template.Spec.Containers {
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

// singleHostPath is the one path all selected components were backed up
// from, if there is exactly one.
func singleHostPath(s *restoreState) (string, bool) {
	if s.snapshot == nil {
		return "", false
	}
	found := ""
	for _, comp := range selectedComponents(s.snapshot, s.rs.Spec.DataSource.Components) {
		for _, st := range s.snapshot.Status.Components[comp].KopiaStats {
			if found != "" && found != st.HostPath {
				return "", false
			}
			found = st.HostPath
		}
	}
	return found, found != ""
}

// claimForTemplate names the PVC of a claim template for a component.
func claimForTemplate(s *restoreState, template, component string) (string, error) {
	tg := s.rs.Spec.Target
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

// dedupeMounts drops later mounts at a path already mounted: the first
// mount of a path wins, so the controller's own mounts cannot be shadowed.
func dedupeMounts(mounts []corev1.VolumeMount) []corev1.VolumeMount {
	seen := map[string]bool{}
	var out []corev1.VolumeMount
	for _, m := range mounts {
		p := path.Clean(m.MountPath)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, m)
	}
	return out
}

// merged returns base overlaid with over; over's keys win.
func merged(base, over map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

package jobbuild

import (
	"fmt"
	"path"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// Names of the volumes the builder adds to every restore Job.
const (
	volumeBackend = "kubestash-backend"
	volumeScratch = "kubestash-tmp-volume"
)

// jobVolumes returns the volumes of a component's Job and the mounts every
// task container gets: the backend storage, the scratch directory, the
// tasks' target volumes (targets, one per task) and the addon's volumes.
func jobVolumes(in RestoreJobInput, targets []taskTarget) ([]corev1.Volume, []corev1.VolumeMount) {
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if bs := in.Storage; bs != nil && bs.Spec.Storage.Provider == storagev1alpha1.ProviderLocal && bs.Spec.Storage.Local != nil {
		local := bs.Spec.Storage.Local
		volumes = append(volumes, corev1.Volume{Name: volumeBackend, VolumeSource: local.VolumeSource})
		mounts = append(mounts, corev1.VolumeMount{Name: volumeBackend, MountPath: local.MountPath, SubPath: local.SubPath})
	}

	seen := map[string]bool{}
	for i, t := range in.Tasks {
		for _, v := range targets[i].volumes {
			if !seen[v.Name] {
				seen[v.Name] = true
				volumes = append(volumes, v)
			}
		}
		mounts = append(mounts, targets[i].mounts...)
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
	return volumes, dedupeMounts(mounts)
}

// mountsPath reports whether an addon task mounts something at p already.
func mountsPath(tasks []Task, p string) bool {
	for _, t := range tasks {
		for _, m := range t.AddonTask.VolumeMounts {
			if path.Clean(m.MountPath) == p {
				return true
			}
		}
	}
	return false
}

// taskTarget is where a task restores: the target volumes the Job adds
// for it, where they are mounted (the only places the restore executor
// may write to), and the node the Job must run on ("" for any).
type taskTarget struct {
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	node    string
}

// mountPaths are the target's mount paths.
func (t taskTarget) mountPaths() []string {
	var paths []string
	for _, m := range t.mounts {
		paths = append(paths, m.MountPath)
	}
	return paths
}

// resolveTarget decides where task i restores for one component.
//
// Volumes:
//   - targetVolumes.volumes as given; in a PVC claimName, ${POD_ORDINAL}
//     and ${component} are replaced, so one entry serves every replica.
//   - targetVolumes.volumeClaimTemplates: for a StatefulSet, the PVC of the
//     component's ordinal ("<template>-<statefulset>-<ordinal>", created
//     from the template when missing); otherwise the PVC named like the
//     template.
//   - neither, and the target is a PVC: that PVC.
//   - neither, and the target is a workload: the workload's own volumes
//     the mounts name (a StatefulSet's claim templates resolved to the
//     component's replica PVCs), each of which must keep data
//     (persistentSource).
//
// Mounts: targetVolumes.volumeMounts as given, or by default where the
// data came from: for a PVC target the components' single hostPath, for a
// workload its containers' mounts of the volumes holding the component's
// data (workloadMounts). A manifest task restores into the API, and gets
// only the volumes the user names.
func resolveTarget(in RestoreJobInput, i int, t Task) (taskTarget, error) {
	var out taskTarget
	if t.RestoresVolumeSnapshots() {
		return out, nil // its claims are the restore's output
	}
	tv := t.Ref.TargetVolumes
	component := in.Component
	if tv != nil {
		vars := map[string]string{"component": component}
		if ordinal, ok := podOrdinal(component); ok {
			vars["POD_ORDINAL"] = strconv.Itoa(ordinal)
		}
		for _, v := range tv.Volumes {
			v = *v.DeepCopy()
			if pvc := v.PersistentVolumeClaim; pvc != nil {
				name, err := invocation.Substitute(pvc.ClaimName, vars)
				if err != nil {
					return taskTarget{}, fmt.Errorf("spec.addon.tasks[%s].targetVolumes.volumes[%s].persistentVolumeClaim.claimName: %v", t.Ref.Name, v.Name, err)
				}
				pvc.ClaimName = name
			}
			out.volumes = append(out.volumes, v)
		}
		for _, tpl := range tv.VolumeClaimTemplates {
			claim, err := claimForTemplate(in.RestoreSession, tpl.Name, component)
			if err != nil {
				return taskTarget{}, err
			}
			out.volumes = append(out.volumes, pvcVolume(tpl.Name, claim))
		}
		out.mounts = tv.VolumeMounts
	}
	tg := in.RestoreSession.Spec.Target
	if tg == nil || (t.RestoresManifests() && len(out.volumes) == 0) {
		return out, nil
	}
	switch {
	case tg.Kind == refs.KindPersistentVolumeClaim:
		if len(out.volumes) == 0 {
			out.volumes = []corev1.Volume{pvcVolume(defaultTargetVolume, tg.Name)}
		}
		if len(out.mounts) == 0 {
			if p, ok := singleHostPath(in.Snapshot, in.Components); ok {
				out.mounts = []corev1.VolumeMount{{Name: defaultTargetVolume, MountPath: p}}
			}
		}
	case workloadTarget(in):
		if len(out.mounts) == 0 {
			mounts, err := workloadMounts(in, i)
			if err != nil {
				return taskTarget{}, err
			}
			out.mounts = mounts
		}
		if len(out.volumes) == 0 {
			vols, err := mountedWorkloadVolumes(in, i, out.mounts)
			if err != nil {
				return taskTarget{}, err
			}
			out.volumes = vols
		}
	}
	out.node = pinnedNode(in, out.volumes)
	return out, nil
}

// mountedWorkloadVolumes are the target workload's volumes that mounts
// name, each of which must keep data.
func mountedWorkloadVolumes(in RestoreJobInput, i int, mounts []corev1.VolumeMount) ([]corev1.Volume, error) {
	tg := in.RestoreSession.Spec.Target
	available, err := workloadVolumes(in)
	if err != nil {
		return nil, err
	}
	var volumes []corev1.Volume
	for _, m := range mounts {
		wv, ok := available[m.Name]
		if !ok {
			return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes.volumeMounts[%s]: %s %s has no volume %q; name it in targetVolumes.volumes",
				i, m.Name, tg.Kind, tg.Name, m.Name)
		}
		if what, ok := persistentSource(wv.volume.VolumeSource); !ok {
			return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes.volumeMounts[%s]: volume %q of %s %s is %s: its data lives and dies with each pod, "+
				"so a restore Job cannot restore into it", i, m.Name, m.Name, tg.Kind, tg.Name, what)
		}
		if !slices.ContainsFunc(volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			volumes = append(volumes, wv.volume)
		}
	}
	return volumes, nil
}

// defaultTargetVolume is the volume name of a PVC target restored without
// targetVolumes.
const defaultTargetVolume = "target"

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
	if tg == nil || tg.Kind != refs.KindStatefulSet {
		return template, nil
	}
	ordinal, ok := podOrdinal(component)
	if !ok {
		return "", fmt.Errorf("component %q of a StatefulSet restore must be named %s to choose the replica's volume", component, componentNamesFormat)
	}
	return fmt.Sprintf("%s-%s-%d", template, tg.Name, ordinal), nil
}

func pvcVolume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
	}}
}

// addonVolumes are the task's volumeTemplate volumes, each replaced by the
// user's addonVolumes entry of the same name. A template for a claim becomes
// an ephemeral volume: the PVC lives and dies with the Job's pod.
func addonVolumes(t Task) []corev1.Volume {
	overrides := map[string]*common.VolumeSource{}
	for _, av := range t.Ref.AddonVolumes {
		overrides[av.Name] = av.Source
	}
	var volumes []corev1.Volume
	for _, vt := range t.AddonTask.VolumeTemplate {
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

// TargetClaims are the PVCs the component's target volumes come from that
// claim templates describe: the user's targetVolumes.volumeClaimTemplates,
// or a StatefulSet target's own when no targetVolumes are given. The
// caller creates those that do not exist yet (a StatefulSet's replica PVCs
// before the StatefulSet creates them).
func TargetClaims(in RestoreJobInput) ([]TargetClaim, error) {
	var claims []TargetClaim
	for _, t := range in.Tasks {
		for _, tpl := range claimTemplates(in, t) {
			claim, err := claimForTemplate(in.RestoreSession, tpl.Name, in.Component)
			if err != nil {
				return nil, err
			}
			claims = append(claims, TargetClaim{Template: tpl.Name, PVC: &corev1.PersistentVolumeClaim{
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

// TargetClaim is a target PVC and the claim template it is made from.
type TargetClaim struct {
	Template string
	PVC      *corev1.PersistentVolumeClaim
}

// claimTemplates are the claim templates the task's target volumes come
// from: the user's, or a StatefulSet target's own when none are given.
func claimTemplates(in RestoreJobInput, t Task) []corev1.PersistentVolumeClaimTemplate {
	if t.RestoresVolumeSnapshots() {
		return nil // the executor creates them from VolumeSnapshots
	}
	if tv := t.Ref.TargetVolumes; tv != nil && (len(tv.Volumes) > 0 || len(tv.VolumeClaimTemplates) > 0) {
		return tv.VolumeClaimTemplates
	}
	if tg := in.RestoreSession.Spec.Target; tg != nil && tg.Kind == refs.KindStatefulSet {
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

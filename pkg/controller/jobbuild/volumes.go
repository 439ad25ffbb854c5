package jobbuild

import (
	"fmt"
	"path"
	"strconv"
	"strings"

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

// targetMountPaths are the mount paths of the task's target volumes: the
// only places the restore executor may write to.
func targetMountPaths(in RestoreJobInput, t Task) []string {
	var paths []string
	for _, m := range targetMounts(in, t) {
		paths = append(paths, m.MountPath)
	}
	return paths
}

// jobVolumes returns the volumes of a component's Job and the mounts every
// task container gets: the backend storage, the scratch directory, the
// target's volumes and the addon's volumes.
func jobVolumes(in RestoreJobInput) ([]corev1.Volume, []corev1.VolumeMount, error) {
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
func targetVolumes(in RestoreJobInput, t Task) ([]corev1.Volume, error) {
	if t.RestoresVolumeSnapshots() {
		return nil, nil // its claims are the restore's output
	}
	tv := t.Ref.TargetVolumes
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
				name, err := invocation.Substitute(pvc.ClaimName, vars)
				if err != nil {
					return nil, fmt.Errorf("spec.addon.tasks[%s].targetVolumes.volumes[%s].persistentVolumeClaim.claimName: %v", t.Ref.Name, v.Name, err)
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
	case tg.Kind == refs.KindPersistentVolumeClaim:
		return []corev1.Volume{pvcVolume(defaultTargetVolume, tg.Name)}, nil
	case tg.Kind == refs.KindStatefulSet:
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
func targetMounts(in RestoreJobInput, t Task) []corev1.VolumeMount {
	if t.RestoresVolumeSnapshots() {
		return nil
	}
	if tv := t.Ref.TargetVolumes; tv != nil && len(tv.VolumeMounts) > 0 {
		return tv.VolumeMounts
	}
	tg := in.RestoreSession.Spec.Target
	switch {
	case tg == nil:
		return nil
	case tg.Kind == refs.KindPersistentVolumeClaim:
		if p, ok := singleHostPath(in.Snapshot, in.Components); ok {
			return []corev1.VolumeMount{{Name: defaultTargetVolume, MountPath: p}}
		}
	case tg.Kind == refs.KindStatefulSet:
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
	if tg == nil || tg.Kind != refs.KindStatefulSet {
		return template, nil
	}
	ordinal, ok := podOrdinal(component)
	if !ok {
		return "", fmt.Errorf("component %q of a StatefulSet restore must be named pod-<ordinal> to choose the replica's volume", component)
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

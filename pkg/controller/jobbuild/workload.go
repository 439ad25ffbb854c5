package jobbuild

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/restore-controller/restore/pkg/refs"
)

// Component names. KubeStash's workload addon names the component of a
// StatefulSet replica "dump-pod-<ordinal>", the single component of a
// Deployment "dump" and that of each DaemonSet pod "dump-<node>"; this
// project's own snapshots name a replica's component "pod-<ordinal>".
const (
	componentDump        = "dump"
	componentDumpPrefix  = componentDump + "-"
	componentPodPrefix   = "pod-"
	componentNamesFormat = "pod-<ordinal> or dump-pod-<ordinal>"
)

// podOrdinal parses the replica ordinal a StatefulSet component names:
// "pod-2" and "dump-pod-2" → 2. The ordinal is a canonical decimal
// ("pod-02" and "pod-+2" name none).
func podOrdinal(component string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(component, componentDumpPrefix), componentPodPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// daemonSetNode is the node a DaemonSet component names ("dump-<node>"),
// or "" for "dump" and other names.
func daemonSetNode(component string) string {
	node, _ := strings.CutPrefix(component, componentDumpPrefix)
	if node == component {
		return ""
	}
	return node
}

// workloadVolume is a volume the target workload's containers mount, as
// a restore Job mounts it: a StatefulSet claim template resolved to the
// component's replica PVC, or a volume of the pod template.
type workloadVolume struct {
	volume corev1.Volume
	// fromClaimTemplate: a StatefulSet volumeClaimTemplate.
	fromClaimTemplate bool
}

// workloadVolumes are the volumes of the target workload by name: the
// pod template's, and for a StatefulSet its claim templates (which win,
// as in the StatefulSet's pods), each resolved to the PVC of the
// component's replica.
func workloadVolumes(in RestoreJobInput) (map[string]workloadVolume, error) {
	out := map[string]workloadVolume{}
	for _, v := range in.TargetPodVolumes {
		out[v.Name] = workloadVolume{volume: v}
	}
	for _, tpl := range in.TargetClaimTemplates {
		claim, err := claimForTemplate(in.RestoreSession, tpl.Name, in.Component)
		if err != nil {
			return nil, err
		}
		out[tpl.Name] = workloadVolume{volume: pvcVolume(tpl.Name, claim), fromClaimTemplate: true}
	}
	return out, nil
}

// componentHostPaths are the paths the component's data came from, as the
// Snapshot records them, sorted and without duplicates.
func componentHostPaths(in RestoreJobInput) []string {
	if in.Snapshot == nil {
		return nil
	}
	var paths []string
	for _, st := range in.Snapshot.Status.Components[in.Component].KopiaStats {
		if st.HostPath != "" && !slices.Contains(paths, path.Clean(st.HostPath)) {
			paths = append(paths, path.Clean(st.HostPath))
		}
	}
	slices.Sort(paths)
	return paths
}

// pathWithin reports whether p is base or lies under it (both clean and
// absolute).
func pathWithin(base, p string) bool {
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// workloadMounts are where a restore Job mounts the target workload's own
// volumes when the task names none (KubeStash's workload addon restores
// into them): its containers' mounts, at the same mountPaths, of the
// volumes that hold the component's data. A mount holds data when the
// mountPath contains one of the paths the Snapshot recorded for the
// component, or lies inside one (data restored there lands in that
// volume). Every path must be in a mounted volume. When the Snapshot
// recorded no paths, every mount of a volume that keeps data (see
// persistentSource) is taken.
func workloadMounts(in RestoreJobInput, taskIndex int) ([]corev1.VolumeMount, error) {
	tg := in.RestoreSession.Spec.Target
	volumes, err := workloadVolumes(in)
	if err != nil {
		return nil, err
	}
	type candidate struct {
		mount corev1.VolumeMount
		vol   workloadVolume
	}
	var candidates []candidate
	var mountPaths []string
	for _, ctr := range in.TargetContainers {
		for _, m := range ctr.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				continue
			}
			candidates = append(candidates, candidate{mount: m, vol: v})
			mountPaths = append(mountPaths, m.MountPath)
		}
	}

	hostPaths := componentHostPaths(in)
	var chosen []candidate
	if len(hostPaths) == 0 {
		var skipped []string
		for _, c := range candidates {
			if _, ok := persistentSource(c.vol.volume.VolumeSource); ok {
				chosen = append(chosen, c)
			} else {
				what, _ := persistentSource(c.vol.volume.VolumeSource)
				skipped = append(skipped, fmt.Sprintf("%q (%s)", c.vol.volume.Name, what))
			}
		}
		if len(chosen) == 0 && len(skipped) > 0 {
			return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes: %s %s mounts no volume that keeps data to restore into, only %s; "+
				"name the volumes to restore into", taskIndex, tg.Kind, tg.Name, strings.Join(skipped, ", "))
		}
	} else {
		for _, hp := range hostPaths {
			covered := false
			for _, c := range candidates {
				mp := path.Clean(c.mount.MountPath)
				if pathWithin(mp, hp) {
					covered = true
				}
				if (pathWithin(mp, hp) || pathWithin(hp, mp)) && !slices.ContainsFunc(chosen, func(o candidate) bool { return o.mount.MountPath == c.mount.MountPath }) {
					chosen = append(chosen, c)
				}
			}
			if !covered {
				mounted := "mounts no volume"
				if len(mountPaths) > 0 {
					mounted = "mounts volumes at " + strings.Join(mountPaths, ", ") + " only"
				}
				return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes: no volume of %s %s to restore into: component %q was backed up from %s, and the workload %s; "+
					"name the volumes to restore into", taskIndex, tg.Kind, tg.Name, in.Component, hp, mounted)
			}
		}
		for _, c := range chosen {
			if what, ok := persistentSource(c.vol.volume.VolumeSource); !ok {
				return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes: volume %q of %s %s, mounted at %s, is %s: its data lives and dies with each pod, "+
					"so a restore Job cannot restore into it; name the volumes to restore into",
					taskIndex, c.vol.volume.Name, tg.Kind, tg.Name, c.mount.MountPath, what)
			}
		}
	}

	var mounts []corev1.VolumeMount
	for _, c := range chosen {
		if c.mount.SubPathExpr != "" {
			return nil, fmt.Errorf("spec.addon.tasks[%d].targetVolumes: volume %q of %s %s is mounted at %s with subPathExpr %q, "+
				"which expands in the workload's pods only; name the volumes to restore into",
				taskIndex, c.mount.Name, tg.Kind, tg.Name, c.mount.MountPath, c.mount.SubPathExpr)
		}
		// Read-only in the workload or not, the restore writes into it.
		mounts = append(mounts, corev1.VolumeMount{Name: c.mount.Name, MountPath: c.mount.MountPath, SubPath: c.mount.SubPath})
	}
	return dedupeMounts(mounts), nil
}

// persistentSource reports whether a volume source keeps its data beyond
// a pod, so that what a restore Job writes into it is there for the
// workload's pods; otherwise it says what the source is. Sources are
// allowed by name: one this list does not know is refused.
func persistentSource(src corev1.VolumeSource) (string, bool) {
	switch {
	case src.PersistentVolumeClaim != nil, src.HostPath != nil, src.NFS != nil, src.ISCSI != nil, src.Glusterfs != nil,
		src.RBD != nil, src.CephFS != nil, src.Cinder != nil, src.FC != nil, src.FlexVolume != nil,
		src.AWSElasticBlockStore != nil, src.GCEPersistentDisk != nil, src.AzureDisk != nil, src.AzureFile != nil,
		src.VsphereVolume != nil, src.Quobyte != nil, src.PhotonPersistentDisk != nil, src.PortworxVolume != nil,
		src.ScaleIO != nil, src.StorageOS != nil, src.Flocker != nil:
		return "", true
	case src.EmptyDir != nil:
		return "an emptyDir", false
	case src.Ephemeral != nil:
		return "an ephemeral volume", false
	case src.CSI != nil:
		return "an inline (ephemeral) CSI volume", false
	case src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil, src.Projected != nil:
		return "a projected, read-only volume (configMap, secret, downwardAPI or projected)", false
	default:
		return "a volume source this controller does not restore into", false
	}
}

// workloadTarget reports whether the target is a workload whose own
// volumes a task without targetVolumes restores into.
func workloadTarget(in RestoreJobInput) bool {
	tg := in.RestoreSession.Spec.Target
	return tg != nil && (tg.Kind == refs.KindStatefulSet || tg.Kind == refs.KindDeployment || tg.Kind == refs.KindDaemonSet)
}

// pinnedNode is the node a restore Job must run on: a DaemonSet pod's
// component ("dump-<node>") restored into a hostPath volume, whose data
// is that node's. "" when the Job may run anywhere.
func pinnedNode(in RestoreJobInput, volumes []corev1.Volume) string {
	tg := in.RestoreSession.Spec.Target
	if tg == nil || tg.Kind != refs.KindDaemonSet {
		return ""
	}
	node := daemonSetNode(in.Component)
	if node == "" {
		return ""
	}
	for _, v := range volumes {
		if v.HostPath != nil {
			return node
		}
	}
	return ""
}

// pinToNode requires the pod to be scheduled on node, as the DaemonSet
// controller pins its pods: a metadata.name field requirement ANDed into
// every required node selector term the pod has (or a term of its own).
func pinToNode(spec *corev1.PodSpec, node string) {
	req := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	} else {
		spec.Affinity = spec.Affinity.DeepCopy()
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		terms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range terms {
		terms[i].MatchFields = append(terms[i].MatchFields, req)
	}
	na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = terms
}

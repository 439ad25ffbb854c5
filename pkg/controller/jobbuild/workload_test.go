package jobbuild

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

func TestComponentNames(t *testing.T) {
	for _, tc := range []struct {
		component string
		ordinal   int
		ok        bool
		node      string
	}{
		{component: "pod-0", ordinal: 0, ok: true},
		{component: "pod-12", ordinal: 12, ok: true},
		{component: "dump-pod-3", ordinal: 3, ok: true, node: "pod-3"},
		{component: "dump"},
		{component: "dump-kind-control-plane", node: "kind-control-plane"},
		{component: "pod-"},
		{component: "pod-01"},
		{component: "pod-+1"},
		{component: "pod--1"},
		{component: "dump-pod-x", node: "pod-x"},
		{component: "dump-dump-pod-1", node: "dump-pod-1"},
		{component: "xpod-1"},
	} {
		t.Run(tc.component, func(t *testing.T) {
			n, ok := podOrdinal(tc.component)
			if ok != tc.ok || (ok && n != tc.ordinal) {
				t.Errorf("podOrdinal = %d, %v; want %d, %v", n, ok, tc.ordinal, tc.ok)
			}
			if got := daemonSetNode(tc.component); got != tc.node {
				t.Errorf("daemonSetNode = %q, want %q", got, tc.node)
			}
		})
	}
}

const sourceData = "/source/data"

// workloadInput is the sample restored into a workload of kind whose pod
// template mounts a PVC at /source/data and a ConfigMap at /etc/config,
// with KubeStash's component names and a snapshot of /source/data, and no
// targetVolumes.
func workloadInput(kind, component string) RestoreJobInput {
	in := sampleInput()
	in.RestoreSession.Spec.Target = &common.TypedObjectReference{APIGroup: "apps", Kind: kind, Name: "app", Namespace: testNS}
	in.RestoreSession.Spec.DataSource.Components = nil
	in.Component, in.Components = component, []string{component}
	in.Tasks[0].Params = map[string]string{"parallel": "4"}
	in.Snapshot.Status.Components = map[string]storagev1alpha1.Component{component: {
		Driver: storagev1alpha1.DriverKopia, Phase: storagev1alpha1.SnapshotSucceeded,
		KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: "k", HostPath: sourceData}},
	}}
	in.TargetClaimTemplates = nil
	in.TargetPodVolumes = []corev1.Volume{
		{Name: "source-data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	in.TargetContainers = []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "source-data", MountPath: sourceData, ReadOnly: true},
		{Name: "config", MountPath: "/etc/config"},
		{Name: "cache", MountPath: "/cache"},
	}}}
	return in
}

func TestWorkloadTargetWithoutTargetVolumes(t *testing.T) {
	hostPathVolume := corev1.Volume{Name: "source-data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/kubestash/recovered/data"}}}
	for _, tc := range []struct {
		name string
		in   func() RestoreJobInput
		// wantVolume is the source of the Job's volume mounted at /source/data.
		wantVolume corev1.VolumeSource
		check      func(t *testing.T, job *batchv1.Job)
	}{{
		name:       "a Deployment's component dump: its PVC at its mountPath",
		in:         func() RestoreJobInput { return workloadInput(refs.KindDeployment, "dump") },
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}},
		check: func(t *testing.T, job *batchv1.Job) {
			if job.Spec.Template.Spec.Affinity != nil {
				t.Errorf("affinity = %+v, want none (a PVC is not a node's)", job.Spec.Template.Spec.Affinity)
			}
		},
	}, {
		name: "a StatefulSet's component dump-pod-1: the replica's claim",
		in: func() RestoreJobInput {
			in := workloadInput(refs.KindStatefulSet, "dump-pod-1")
			in.TargetClaimTemplates = testStatefulSetClaims()
			in.TargetClaimTemplates[0].Name = "source-data" // wins over the pod template's volume of that name
			return in
		},
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "source-data-app-1"}},
	}, {
		name: "a DaemonSet's component dump-<node> with a hostPath: pinned to the node, under the user's affinity",
		in: func() RestoreJobInput {
			in := workloadInput(refs.KindDaemonSet, "dump-node-a")
			in.TargetPodVolumes[0] = hostPathVolume
			in.RestoreSession.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}},
				}}}},
			}}}
			return in
		},
		wantVolume: hostPathVolume.VolumeSource,
		check: func(t *testing.T, job *batchv1.Job) {
			want := []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}},
				MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}}},
			}}
			aff := job.Spec.Template.Spec.Affinity
			if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
				!equality.Semantic.DeepEqual(aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms, want) {
				t.Errorf("affinity = %+v, want terms %+v", aff, want)
			}
		},
	}, {
		name: "a DaemonSet's component dump with a PVC: not pinned",
		in: func() RestoreJobInput {
			return workloadInput(refs.KindDaemonSet, "dump")
		},
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}},
		check: func(t *testing.T, job *batchv1.Job) {
			if job.Spec.Template.Spec.Affinity != nil {
				t.Errorf("affinity = %+v, want none", job.Spec.Template.Spec.Affinity)
			}
		},
	}, {
		name: "a snapshot of a directory inside the volume",
		in: func() RestoreJobInput {
			in := workloadInput(refs.KindDeployment, "dump")
			in.Snapshot.Status.Components["dump"].KopiaStats[0].HostPath = sourceData + "/db/"
			return in
		},
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}},
	}, {
		name: "targetVolumes naming only the mount: the workload's volume of that name",
		in: func() RestoreJobInput {
			in := workloadInput(refs.KindDeployment, "dump")
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{VolumeMounts: []corev1.VolumeMount{{Name: "source-data", MountPath: sourceData}}}
			return in
		},
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}},
	}, {
		name: "no paths in the snapshot: every volume that keeps data",
		in: func() RestoreJobInput {
			in := workloadInput(refs.KindDeployment, "dump")
			in.Snapshot.Status.Components["dump"].KopiaStats[0].HostPath = ""
			return in
		},
		wantVolume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := RestoreJob(tc.in())
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			ctr := pod.Containers[0]
			m := mountAt(ctr.VolumeMounts, sourceData)
			if m == nil || m.ReadOnly || m.Name != "source-data" {
				t.Fatalf("mount at %s = %+v, want the workload's source-data, writable; mounts %+v", sourceData, m, ctr.VolumeMounts)
			}
			if v := volumeNamed(pod.Volumes, m.Name); v == nil || !equality.Semantic.DeepEqual(v.VolumeSource, tc.wantVolume) {
				t.Errorf("volume %s = %+v, want %+v", m.Name, v, tc.wantVolume)
			}
			for _, p := range []string{"/etc/config", "/cache"} {
				if m := mountAt(ctr.VolumeMounts, p); m != nil {
					t.Errorf("the workload's %s is mounted, holding no snapshot data: %+v", p, m)
				}
			}
			if got := envValue(ctr.Env, invocation.EnvTargetMountPaths); got != sourceData {
				t.Errorf("%s = %q, want %q", invocation.EnvTargetMountPaths, got, sourceData)
			}
			if tc.check != nil {
				tc.check(t, job)
			}
		})
	}
}

func TestWorkloadTargetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *RestoreJobInput)
		want []string
	}{{
		name: "the data's volume is an emptyDir",
		edit: func(in *RestoreJobInput) {
			in.TargetPodVolumes[0].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		},
		want: []string{`spec.addon.tasks[0].targetVolumes: volume "source-data" of Deployment app, mounted at /source/data, is an emptyDir`},
	}, {
		name: "the data's volume is an ephemeral claim",
		edit: func(in *RestoreJobInput) {
			in.TargetPodVolumes[0].VolumeSource = corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}
		},
		want: []string{`volume "source-data"`, "is an ephemeral volume"},
	}, {
		name: "no paths in the snapshot and only volumes that keep nothing",
		edit: func(in *RestoreJobInput) {
			in.Snapshot.Status.Components["dump"].KopiaStats[0].HostPath = ""
			in.TargetPodVolumes[0].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		},
		want: []string{`Deployment app mounts no volume that keeps data to restore into, only "source-data" (an emptyDir), "config" (a projected`, `"cache" (an emptyDir)`},
	}, {
		name: "the snapshot's path is in no mounted volume",
		edit: func(in *RestoreJobInput) {
			in.Snapshot.Status.Components["dump"].KopiaStats[0].HostPath = "/var/lib/app"
		},
		want: []string{`no volume of Deployment app to restore into: component "dump" was backed up from /var/lib/app, and the workload mounts volumes at /source/data, /etc/config, /cache only`},
	}, {
		name: "a mount with subPathExpr",
		edit: func(in *RestoreJobInput) {
			in.TargetContainers[0].VolumeMounts[0].SubPathExpr = "$(POD_NAME)"
		},
		want: []string{`volume "source-data" of Deployment app is mounted at /source/data with subPathExpr "$(POD_NAME)"`},
	}, {
		name: "targetVolumes mounting a volume the workload does not have",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{VolumeMounts: []corev1.VolumeMount{{Name: "nope", MountPath: sourceData}}}
		},
		want: []string{`spec.addon.tasks[0].targetVolumes.volumeMounts[nope]: Deployment app has no volume "nope"`},
	}, {
		name: "targetVolumes mounting the workload's emptyDir",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: sourceData}}}
		},
		want: []string{`spec.addon.tasks[0].targetVolumes.volumeMounts[cache]: volume "cache" of Deployment app is an emptyDir`},
	}, {
		name: "a StatefulSet component that names no replica",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Spec.Target.Kind = refs.KindStatefulSet
			in.TargetClaimTemplates = testStatefulSetClaims()
		},
		want: []string{`component "dump" of a StatefulSet restore must be named pod-<ordinal> or dump-pod-<ordinal>`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := workloadInput(refs.KindDeployment, "dump")
			tc.edit(&in)
			job, err := RestoreJob(in)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("RestoreJob = %v, %v; want an error containing %q", job != nil, err, want)
				}
			}
		})
	}
}

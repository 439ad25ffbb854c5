package jobbuild

import (
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

func TestRestoreJob(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *RestoreJobInput)
		check func(t *testing.T, job *batchv1.Job)
	}{{
		name: "a StatefulSet replica: its claim, the backend, the scratch dir, the invocation",
		check: func(t *testing.T, job *batchv1.Job) {
			if job.Name != "restore-sample-restore-pod-2" || job.Namespace != testNS {
				t.Errorf("Job %s/%s", job.Namespace, job.Name)
			}
			owner := metav1.GetControllerOf(job)
			if owner == nil || owner.UID != "rs-uid-1" || owner.Kind != "RestoreSession" || owner.APIVersion != "core.kubestash.com/v1alpha1" || owner.Name != testRSName {
				t.Errorf("controller = %+v", owner)
			}
			for what, labels := range map[string]map[string]string{"Job": job.Labels, "pod": job.Spec.Template.Labels} {
				if labels["app.kubernetes.io/managed-by"] != "kubestash.com" || labels["kubestash.com/invoker-name"] != testRSName {
					t.Errorf("%s labels = %v", what, labels)
				}
			}
			if job.Annotations["restore.kubestash.com/component"] != "pod-2" || job.Spec.Template.Annotations["restore.kubestash.com/component"] != "pod-2" {
				t.Errorf("annotations %v, pod %v", job.Annotations, job.Spec.Template.Annotations)
			}
			if ptr.Deref(job.Spec.BackoffLimit, -1) != 2 || job.Spec.ActiveDeadlineSeconds != nil {
				t.Errorf("backoffLimit %v, activeDeadlineSeconds %v", job.Spec.BackoffLimit, job.Spec.ActiveDeadlineSeconds)
			}
			rules := job.Spec.PodFailurePolicy.Rules
			if len(rules) != 2 || rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
				!slices.Equal(rules[0].OnExitCodes.Values, []int32{invocation.ExitCodePermanentFailure}) ||
				rules[1].Action != batchv1.PodFailurePolicyActionIgnore || rules[1].OnPodConditions[0].Type != corev1.DisruptionTarget {
				t.Errorf("podFailurePolicy = %+v", job.Spec.PodFailurePolicy)
			}
			pod := job.Spec.Template.Spec
			if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != testSA {
				t.Errorf("restartPolicy %s, serviceAccount %q", pod.RestartPolicy, pod.ServiceAccountName)
			}
			if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
				t.Fatalf("containers %d, init containers %d", len(pod.Containers), len(pod.InitContainers))
			}
			ctr := pod.Containers[0]
			if ctr.Name != testRestoreTask+"-0" || ctr.Image != "ghcr.io/restore-controller/executor:v1" || ctr.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
				t.Errorf("container %s image %s terminationMessagePolicy %s", ctr.Name, ctr.Image, ctr.TerminationMessagePolicy)
			}

			if data := volumeNamed(pod.Volumes, "data"); data == nil || data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != "data-restore-sts-2" {
				t.Errorf("data volume = %+v, want claim data-restore-sts-2", data)
			}
			if m := mountAt(ctr.VolumeMounts, testDataMount); m == nil || m.Name != "data" {
				t.Errorf("mount at %s = %+v, want the data volume", testDataMount, m)
			}
			if m := mountAt(ctr.VolumeMounts, "/etc/app"); m != nil {
				t.Errorf("the StatefulSet's non-claim volume is mounted: %+v", m)
			}
			if backend := volumeNamed(pod.Volumes, volumeBackend); backend == nil || backend.PersistentVolumeClaim == nil || backend.PersistentVolumeClaim.ClaimName != "backend-pvc" {
				t.Errorf("backend volume = %+v", backend)
			}
			if m := mountAt(ctr.VolumeMounts, testBackendMount); m == nil || m.Name != volumeBackend {
				t.Errorf("backend mount = %+v", m)
			}
			if scratch := volumeNamed(pod.Volumes, volumeScratch); scratch == nil || scratch.EmptyDir == nil {
				t.Errorf("scratch volume = %+v", scratch)
			}
			if m := mountAt(ctr.VolumeMounts, invocation.ScratchDir); m == nil || m.Name != volumeScratch {
				t.Errorf("scratch mount = %+v", m)
			}
			if len(pod.Volumes) != 3 {
				t.Errorf("%d volumes, want 3: %+v", len(pod.Volumes), pod.Volumes)
			}

			for k, v := range map[string]string{
				invocation.EnvNamespace: testNS, invocation.EnvRestoreSession: testRSName, invocation.EnvComponent: "pod-2",
				invocation.EnvSnapshot: testSnapshot, invocation.EnvTaskName: testRestoreTask, invocation.EnvScratchDir: invocation.ScratchDir,
				invocation.EnvTargetMountPaths: testDataMount, invocation.EnvTerminationMessagePath: corev1.TerminationMessagePathDefault,
			} {
				if got := envValue(ctr.Env, k); got != v {
					t.Errorf("env %s = %q, want %q", k, got, v)
				}
			}
			wantArgs := []string{"restore", "--namespace=demo", "--restoresession=sample-restore", "--snapshot=" + testSnapshot,
				"--component=pod-2", "--parallel=4", "--include=/data/db"}
			if !slices.Equal(ctr.Args, wantArgs) {
				t.Errorf("args =\n%v\nwant\n%v", ctr.Args, wantArgs)
			}
		},
	}, {
		name: "the restore deadline bounds the Job",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Status.RestoreDeadline = &metav1.Time{Time: testNow.Add(90*time.Second + 500*time.Millisecond)}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			if got := ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0); got != 91 {
				t.Errorf("activeDeadlineSeconds = %d, want the 91 seconds left, rounded up", got)
			}
		},
	}, {
		name: "a restore deadline passed leaves the Job one second",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Status.RestoreDeadline = &metav1.Time{Time: testNow.Add(-time.Minute)}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			if got := ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0); got != 1 {
				t.Errorf("activeDeadlineSeconds = %d, want 1", got)
			}
		},
	}, {
		name: "jobTemplate and containerRuntimeSettings are laid over the Job, the controller's labels win",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{
				Resources:       &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
				SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), ReadOnlyRootFilesystem: ptr.To(true)},
				Nice:            &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](5)},
				IONice:          &corev1alpha1.IONiceSettings{Class: ptr.To[int32](2), ClassData: ptr.To[int32](4)},
				Env:             []corev1.EnvVar{{Name: "FOO", Value: "bar"}},
				EnvFrom:         []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "tuning"}}}},
			}
			in.RestoreSession.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{
				Metadata:   corev1alpha1.PartialObjectMeta{Labels: map[string]string{"team": "storage", "kubestash.com/invoker-name": "spoofed"}},
				Controller: corev1alpha1.PartialObjectMeta{Labels: map[string]string{"job-label": "yes"}},
				Spec: corev1alpha1.PodSpec{
					NodeSelector:   map[string]string{"disk": "ssd"},
					Tolerations:    []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "backup", Effect: corev1.TaintEffectNoSchedule}},
					Args:           []string{"--verbose"},
					Env:            []corev1.EnvVar{{Name: "FROM_TEMPLATE", Value: "1"}},
					InitContainers: []corev1.Container{{Name: "prepare", Image: "busybox"}},
				},
			}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			ctr := pod.Containers[0]
			if pod.NodeSelector["disk"] != "ssd" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" {
				t.Errorf("nodeSelector %v, tolerations %v", pod.NodeSelector, pod.Tolerations)
			}
			if l := job.Spec.Template.Labels; l["team"] != "storage" || l["kubestash.com/invoker-name"] != testRSName {
				t.Errorf("pod labels = %v, want the template's under the controller's", l)
			}
			if l := job.Labels; l["job-label"] != "yes" || l["app.kubernetes.io/managed-by"] != "kubestash.com" || l["team"] != "" {
				t.Errorf("Job labels = %v", l)
			}
			if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != "prepare" {
				t.Errorf("init containers = %+v, want the template's", pod.InitContainers)
			}
			if q := ctr.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("256Mi")) != 0 {
				t.Errorf("resources = %+v", ctr.Resources)
			}
			// The user's security context wins field by field: its user is
			// kept (no root default), the unset fields get the defaults.
			wantSC := &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)}
			if !equality.Semantic.DeepEqual(ctr.SecurityContext, wantSC) {
				t.Errorf("securityContext = %+v, want %+v", ctr.SecurityContext, wantSC)
			}
			for k, v := range map[string]string{invocation.EnvNiceAdjustment: "5", invocation.EnvIONiceClass: "2", invocation.EnvIONiceClassData: "4", "FOO": "bar", "FROM_TEMPLATE": "1"} {
				if got := envValue(ctr.Env, k); got != v {
					t.Errorf("env %s = %q, want %q", k, got, v)
				}
			}
			if len(ctr.EnvFrom) != 1 || ctr.EnvFrom[0].ConfigMapRef.Name != "tuning" {
				t.Errorf("envFrom = %+v", ctr.EnvFrom)
			}
			if envValue(ctr.Env, invocation.EnvComponent) != "pod-2" {
				t.Errorf("invocation env lost: %+v", ctr.Env)
			}
			if ctr.Args[len(ctr.Args)-1] != "--verbose" {
				t.Errorf("args = %v, want the template's last", ctr.Args)
			}
		},
	}, {
		name: "targetVolumes.volumeClaimTemplates name the replica's claim",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{
				VolumeMounts:         []corev1.VolumeMount{{Name: "restore-data", MountPath: "/restore"}},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{ObjectMeta: metav1.ObjectMeta{Name: "restore-data"}}},
			}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if v := volumeNamed(pod.Volumes, "restore-data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "restore-data-restore-sts-2" {
				t.Errorf("restore-data volume = %+v", v)
			}
			if v := volumeNamed(pod.Volumes, "data"); v != nil {
				t.Errorf("the StatefulSet's own claim is mounted although targetVolumes are given: %+v", v)
			}
			ctr := pod.Containers[0]
			if m := mountAt(ctr.VolumeMounts, "/restore"); m == nil || m.Name != "restore-data" {
				t.Errorf("mount = %+v", m)
			}
			if got := envValue(ctr.Env, invocation.EnvTargetMountPaths); got != "/restore" {
				t.Errorf("target mount paths = %q", got)
			}
		},
	}, {
		name: "targetVolumes.volumes: ${POD_ORDINAL} in a claim name",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "db-${POD_ORDINAL}"},
				}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}},
			}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			if v := volumeNamed(job.Spec.Template.Spec.Volumes, "data"); v == nil || v.PersistentVolumeClaim.ClaimName != "db-2" {
				t.Errorf("data volume = %+v, want claim db-2", v)
			}
		},
	}, {
		name: "a PVC target is mounted where the data came from",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Spec.Target = &common.TypedObjectReference{Kind: refs.KindPersistentVolumeClaim, Name: "app-data"}
			in.TargetClaimTemplates, in.TargetContainers = nil, nil
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if v := volumeNamed(pod.Volumes, "target"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "app-data" {
				t.Errorf("target volume = %+v", v)
			}
			if m := mountAt(pod.Containers[0].VolumeMounts, testDataMount); m == nil || m.Name != "target" {
				t.Errorf("mount at %s = %+v", testDataMount, m)
			}
		},
	}, {
		name: "tasks run in order, all but the last as init containers; an addon's scratch volume replaces the controller's",
		edit: func(in *RestoreJobInput) {
			second := in.Tasks[0]
			second.Ref = corev1alpha1.TaskReference{Name: "second"}
			second.AddonTask.VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: invocation.ScratchDir}}
			second.AddonTask.VolumeTemplate = []addonsv1alpha1.VolumeTemplate{{Name: "tmp", Source: &common.VolumeSource{VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}
			in.Tasks = append(in.Tasks, second)
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != testRestoreTask+"-0" || len(pod.Containers) != 1 || pod.Containers[0].Name != "second-1" {
				t.Fatalf("init containers %+v, containers %+v", pod.InitContainers, pod.Containers)
			}
			if volumeNamed(pod.Volumes, volumeScratch) != nil || volumeNamed(pod.Volumes, "tmp") == nil {
				t.Errorf("volumes = %+v, want the addon's scratch volume only", pod.Volumes)
			}
			for _, ctr := range allContainers(&pod) {
				if envValue(ctr.Env, invocation.EnvTaskName) != strings.TrimSuffix(strings.TrimSuffix(ctr.Name, "-0"), "-1") {
					t.Errorf("container %s task env %q", ctr.Name, envValue(ctr.Env, invocation.EnvTaskName))
				}
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			if tc.edit != nil {
				tc.edit(&in)
			}
			before := in.RestoreSession.DeepCopy()
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, job)
			if !equality.Semantic.DeepEqual(in.RestoreSession, before) {
				t.Errorf("the RestoreSession changed")
			}
			again, err := RestoreJob(in)
			if err != nil || !equality.Semantic.DeepEqual(again, job) {
				t.Errorf("a second build differs: %v", err)
			}
		})
	}
}

func TestRestoreJobErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *RestoreJobInput)
		want string
	}{{
		name: "an undefined variable names the task, the Function and the arg",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Function.Spec.Args = append(in.Tasks[0].Function.Spec.Args, "--target=${nope}")
		},
		want: `task "logical-backup-restore": Function "workload-restore" args[7]: variable ${nope} is not defined and has no default`,
	}, {
		name: "a Deployment needs targetVolumes",
		edit: func(in *RestoreJobInput) {
			in.RestoreSession.Spec.Target = &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindDeployment, Name: testSTS}
			in.TargetClaimTemplates = nil
		},
		want: "spec.addon.tasks[0].targetVolumes: no volume of Deployment restore-sts to restore into",
	}, {
		name: "no task",
		edit: func(in *RestoreJobInput) { in.Tasks = nil },
		want: `no restore task of Addon "workload-addon" can be resolved`,
	}, {
		name: "no Snapshot",
		edit: func(in *RestoreJobInput) { in.Snapshot = nil },
		want: "was deleted after validation",
	}, {
		name: "a StatefulSet component without an ordinal",
		edit: func(in *RestoreJobInput) { in.Component = "dump" },
		want: `component "dump" of a StatefulSet restore must be named pod-<ordinal>`,
	}, {
		name: "an undefined variable in a claim name",
		edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "db-${replica}"},
				}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}},
			}
		},
		want: "spec.addon.tasks[logical-backup-restore].targetVolumes.volumes[data].persistentVolumeClaim.claimName: variable ${replica}",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			tc.edit(&in)
			job, err := RestoreJob(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RestoreJob = %v, %v; want an error containing %q", job != nil, err, tc.want)
			}
		})
	}
}

func TestTargetClaims(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *RestoreJobInput)
		want map[string]string // claim name → template
	}{
		{name: "a StatefulSet's own claim templates", want: map[string]string{"data-restore-sts-2": "data"}},
		{name: "the user's claim templates", edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{
				VolumeMounts:         []corev1.VolumeMount{{Name: "restore-data", MountPath: "/restore"}},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{ObjectMeta: metav1.ObjectMeta{Name: "restore-data", Labels: map[string]string{"from": "template"}}}},
			}
		}, want: map[string]string{"restore-data-restore-sts-2": "restore-data"}},
		{name: "volumes without templates", edit: func(in *RestoreJobInput) {
			in.Tasks[0].Ref.TargetVolumes = &corev1alpha1.TargetVolumeInfo{Volumes: []corev1.Volume{{Name: "data"}}}
		}, want: map[string]string{}},
		{name: "a PVC target", edit: func(in *RestoreJobInput) {
			in.RestoreSession.Spec.Target = &common.TypedObjectReference{Kind: refs.KindPersistentVolumeClaim, Name: "app-data"}
			in.TargetClaimTemplates = nil
		}, want: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			if tc.edit != nil {
				tc.edit(&in)
			}
			claims, err := TargetClaims(in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range claims {
				got[c.PVC.Name] = c.Template
				if c.PVC.Namespace != testNS || len(c.PVC.OwnerReferences) != 0 {
					t.Errorf("claim %s: namespace %q, owners %v: want the RestoreSession's namespace, unowned", c.PVC.Name, c.PVC.Namespace, c.PVC.OwnerReferences)
				}
			}
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("claims = %v, want %v", got, tc.want)
			}
		})
	}
	// The StatefulSet's claim keeps its template's labels and spec.
	claims, _ := TargetClaims(sampleInput())
	if len(claims) != 1 || claims[0].PVC.Labels["app"] != "db" {
		t.Fatalf("claims = %+v", claims)
	}
	if q := claims[0].PVC.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("claim requests %s, want the template's 1Gi", q.String())
	}
}

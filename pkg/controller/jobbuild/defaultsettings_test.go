package jobbuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

func memory(q string) *corev1.ResourceRequirements {
	return &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}}
}

func TestContainerDefaults(t *testing.T) {
	storageWith := func(c *corev1alpha1.ContainerRuntimeSettings) *storagev1alpha1.BackupStorage {
		bs := localBackupStorage()
		bs.Spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{Container: c}
		return bs
	}
	functionWith := func(c *corev1alpha1.ContainerRuntimeSettings) *addonsv1alpha1.Function {
		fn := testFunctionObject()
		fn.Spec.RuntimeSettings = c
		return fn
	}
	tests := []struct {
		name string
		bs   *storagev1alpha1.BackupStorage
		fn   *addonsv1alpha1.Function
		want *corev1alpha1.ContainerRuntimeSettings
	}{
		{name: "none", bs: localBackupStorage(), fn: testFunctionObject(), want: nil},
		{name: "no storage resolved", fn: testFunctionObject(), want: nil},
		{
			name: "storage only",
			bs:   storageWith(&corev1alpha1.ContainerRuntimeSettings{Resources: memory("1Gi")}),
			fn:   testFunctionObject(),
			want: &corev1alpha1.ContainerRuntimeSettings{Resources: memory("1Gi")},
		},
		{
			name: "function only",
			bs:   localBackupStorage(),
			fn:   functionWith(&corev1alpha1.ContainerRuntimeSettings{Nice: &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](3)}}),
			want: &corev1alpha1.ContainerRuntimeSettings{Nice: &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](3)}},
		},
		{
			name: "function over storage; env of both, the function's last",
			bs: storageWith(&corev1alpha1.ContainerRuntimeSettings{
				Resources: memory("1Gi"), Nice: &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](10)},
				Env: []corev1.EnvVar{{Name: "A", Value: "storage"}},
			}),
			fn: functionWith(&corev1alpha1.ContainerRuntimeSettings{
				Resources: memory("2Gi"),
				Env:       []corev1.EnvVar{{Name: "A", Value: "function"}},
			}),
			want: &corev1alpha1.ContainerRuntimeSettings{
				Resources: memory("2Gi"), Nice: &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](10)},
				Env: []corev1.EnvVar{{Name: "A", Value: "storage"}, {Name: "A", Value: "function"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := containerDefaults(tt.bs, tt.fn)
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("containerDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFillContainerDefaults(t *testing.T) {
	liveness := &corev1.Probe{InitialDelaySeconds: 7}
	def := &corev1alpha1.ContainerRuntimeSettings{
		Resources:     memory("1Gi"),
		LivenessProbe: liveness,
		Nice:          &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](10)},
		IONice:        &corev1alpha1.IONiceSettings{Class: ptr.To[int32](3)},
		EnvFrom:       []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "storage"}}}},
	}
	tests := []struct {
		name      string
		ctr       corev1.Container
		over      *corev1alpha1.ContainerRuntimeSettings
		want      corev1.Container
		wantNoEnv []string
	}{
		{
			name: "empty container takes every default",
			want: corev1.Container{
				Resources: *memory("1Gi"), LivenessProbe: liveness,
				Env: []corev1.EnvVar{
					{Name: invocation.EnvNiceAdjustment, Value: "10"},
					{Name: invocation.EnvIONiceClass, Value: "3"},
				},
				EnvFrom: def.EnvFrom,
			},
		},
		{
			name: "the job template's settings are kept",
			ctr:  corev1.Container{Resources: *memory("64Mi"), EnvFrom: []corev1.EnvFromSource{{Prefix: "OWN_"}}},
			want: corev1.Container{
				Resources: *memory("64Mi"), LivenessProbe: liveness,
				Env: []corev1.EnvVar{
					{Name: invocation.EnvNiceAdjustment, Value: "10"},
					{Name: invocation.EnvIONiceClass, Value: "3"},
				},
				EnvFrom: append(append([]corev1.EnvFromSource{}, def.EnvFrom...), corev1.EnvFromSource{Prefix: "OWN_"}),
			},
		},
		{
			name: "nice and ionice the RestoreSession gives are left to it",
			over: &corev1alpha1.ContainerRuntimeSettings{
				Nice:   &corev1alpha1.NiceSettings{Adjustment: ptr.To[int32](1)},
				IONice: &corev1alpha1.IONiceSettings{ClassData: ptr.To[int32](2)},
			},
			want: corev1.Container{Resources: *memory("1Gi"), LivenessProbe: liveness, EnvFrom: def.EnvFrom},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctr := tt.ctr
			fillContainerDefaults(&ctr, def, tt.over)
			if !equality.Semantic.DeepEqual(ctr, tt.want) {
				t.Errorf("container =\n%+v\nwant\n%+v", ctr, tt.want)
			}
		})
	}
}

// layPodSettings lays every field one way: defaults fill what the pod
// leaves unset, the RestoreSession's settings replace what is given.
func TestLayPodSettings(t *testing.T) {
	prs := &corev1alpha1.PodRuntimeSettings{
		PodLabels:          map[string]string{"from": "settings", "team": "storage"},
		NodeSelector:       map[string]string{"kubernetes.io/hostname": "node-1"},
		PriorityClassName:  "backup",
		ServiceAccountName: "settings-sa",
		Tolerations:        []corev1.Toleration{{Key: "storage", Operator: corev1.TolerationOpExists}},
	}
	pod := func() (metav1.ObjectMeta, corev1.PodSpec) {
		return metav1.ObjectMeta{Labels: map[string]string{"team": "db"}},
			corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}, ServiceAccountName: "job-sa", SchedulerName: "custom"}
	}
	for _, tc := range []struct {
		name             string
		mode             layMode
		wantNodeSelector map[string]string
		wantSA           string
	}{
		{name: "fillUnset keeps what the pod sets", mode: fillUnset, wantNodeSelector: map[string]string{"disk": "ssd"}, wantSA: "job-sa"},
		{name: "override replaces it", mode: override, wantNodeSelector: prs.NodeSelector, wantSA: "settings-sa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta, spec := pod()
			layPodSettings(&meta, &spec, prs, tc.mode)
			if want := map[string]string{"from": "settings", "team": "db"}; !equality.Semantic.DeepEqual(meta.Labels, want) {
				t.Errorf("labels = %v, want %v (the pod's own win)", meta.Labels, want)
			}
			if !equality.Semantic.DeepEqual(spec.NodeSelector, tc.wantNodeSelector) || spec.ServiceAccountName != tc.wantSA {
				t.Errorf("nodeSelector %v, serviceAccountName %q; want %v, %q", spec.NodeSelector, spec.ServiceAccountName, tc.wantNodeSelector, tc.wantSA)
			}
			// Unset in the pod: taken either way. Unset in the settings: kept either way.
			if spec.PriorityClassName != "backup" || !equality.Semantic.DeepEqual(spec.Tolerations, prs.Tolerations) || spec.SchedulerName != "custom" {
				t.Errorf("priorityClassName %q, tolerations %v, schedulerName %q", spec.PriorityClassName, spec.Tolerations, spec.SchedulerName)
			}
		})
	}
}

// The storage's and the Function's runtime settings reach a restore Job
// under the RestoreSession's: the storage's nodeSelector, annotations and
// env where the RestoreSession gives none, the Function's resources over
// the storage's, the RestoreSession's containerRuntimeSettings over both.
func TestRestoreJobRuntimeSettingsDefaults(t *testing.T) {
	storageSettings := &corev1alpha1.RuntimeSettings{
		Pod: &corev1alpha1.PodRuntimeSettings{
			NodeSelector:       map[string]string{"kubernetes.io/hostname": "node-with-backups"},
			ServiceAccountName: "storage-identity",
			PodAnnotations:     map[string]string{"storage": "annotated"},
		},
		Container: &corev1alpha1.ContainerRuntimeSettings{
			Resources: memory("1Gi"),
			Env:       []corev1.EnvVar{{Name: "FROM_STORAGE", Value: "yes"}},
		},
	}
	tests := []struct {
		name          string
		functionRes   *corev1.ResourceRequirements
		sessionRes    *corev1.ResourceRequirements
		wantResources *corev1.ResourceRequirements
	}{
		{name: "the storage's resources", wantResources: memory("1Gi")},
		{name: "the Function's over the storage's", functionRes: memory("2Gi"), wantResources: memory("2Gi")},
		{name: "the RestoreSession's over both", functionRes: memory("2Gi"), sessionRes: memory("256Mi"), wantResources: memory("256Mi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInput()
			in.Storage.Spec.RuntimeSettings = storageSettings.DeepCopy()
			if tt.functionRes != nil {
				in.Tasks[0].Function.Spec.RuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{Resources: tt.functionRes}
			}
			if tt.sessionRes != nil {
				in.RestoreSession.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{Resources: tt.sessionRes}
			}
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template
			ctr := pod.Spec.Containers[0]
			if pod.Spec.ServiceAccountName != testSA {
				t.Errorf("serviceAccountName = %q, want the caller's %q (the caller chooses it)", pod.Spec.ServiceAccountName, testSA)
			}
			if pod.Spec.NodeSelector["kubernetes.io/hostname"] != "node-with-backups" {
				t.Errorf("nodeSelector = %v, want the storage's", pod.Spec.NodeSelector)
			}
			if pod.Annotations["storage"] != "annotated" || pod.Annotations["restore.kubestash.com/component"] != "pod-2" {
				t.Errorf("pod annotations = %v, want the storage's and the caller's", pod.Annotations)
			}
			if !equality.Semantic.DeepEqual(ctr.Resources, *tt.wantResources) {
				t.Errorf("resources = %+v, want %+v", ctr.Resources, *tt.wantResources)
			}
			if envValue(ctr.Env, "FROM_STORAGE") != "yes" {
				t.Errorf("env lacks the storage's FROM_STORAGE: %+v", ctr.Env)
			}
		})
	}
}

func TestStorageServiceAccount(t *testing.T) {
	withPod := localBackupStorage()
	withPod.Spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{Pod: &corev1alpha1.PodRuntimeSettings{ServiceAccountName: "storage-identity"}}
	withoutPod := localBackupStorage()
	withoutPod.Spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{}
	tests := []struct {
		name string
		bs   *storagev1alpha1.BackupStorage
		want string
	}{
		{"no storage", nil, ""},
		{"no runtime settings", localBackupStorage(), ""},
		{"no pod settings", withoutPod, ""},
		{"pod settings name one", withPod, "storage-identity"},
	}
	for _, tt := range tests {
		if got := StorageServiceAccount(tt.bs); got != tt.want {
			t.Errorf("%s: StorageServiceAccount = %q, want %q", tt.name, got, tt.want)
		}
	}
}

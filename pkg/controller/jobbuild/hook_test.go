package jobbuild

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// sampleHookInput is the first attempt of a pre-restore Function hook with
// a timeout of a minute, a volume and pod runtime settings.
func sampleHookInput() HookJobInput {
	rs := testRestoreSession()
	return HookJobInput{
		Meta: Meta{
			Name:        "sample-restore-prehook-prepare-1",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "kubestash.com", "restore.kubestash.com/hook": "pre-prepare"},
			Annotations: map[string]string{"restore.kubestash.com/hook": "pre/prepare", "restore.kubestash.com/hook-attempt": "1"},
			Owner:       testOwner(rs),
		},
		RestoreSession: rs,
		Hook: corev1alpha1.HookInfo{
			Name:            "prepare",
			Variables:       []corev1.EnvVar{{Name: "FROM_HOOK", Value: "2"}},
			Volumes:         []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			VolumeMounts:    []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
			RuntimeSettings: &corev1alpha1.RuntimeSettings{Pod: &corev1alpha1.PodRuntimeSettings{PriorityClassName: "restore-hooks"}},
		},
		Executor: &corev1alpha1.FunctionHookExecutorSpec{Name: "hook-fn", Env: []corev1.EnvVar{{Name: "FROM_TEMPLATE", Value: "1"}}},
		Function: &addonsv1alpha1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: "hook-fn"},
			Spec:       addonsv1alpha1.FunctionSpec{Image: "hook:v1", Command: []string{"/hook"}, Args: []string{"--target=${targetName}", "--level=${level}"}},
		},
		Variables:      map[string]string{invocation.VarTargetName: testSTS, "level": "3"},
		Timeout:        time.Minute,
		ServiceAccount: testSA,
		Now:            testNow,
	}
}

func TestHookJob(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(in *HookJobInput)
		check func(t *testing.T, job *batchv1.Job)
	}{{
		name: "one attempt: no retries of its own, bounded by the hook's timeout",
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if job.Name != "sample-restore-prehook-prepare-1" || job.Namespace != testNS || metav1.GetControllerOf(job).UID != "rs-uid-1" {
				t.Errorf("Job %s/%s owned by %+v", job.Namespace, job.Name, metav1.GetControllerOf(job))
			}
			if ptr.Deref(job.Spec.BackoffLimit, -1) != 0 || job.Spec.PodFailurePolicy != nil {
				t.Errorf("backoffLimit %v, podFailurePolicy %+v", job.Spec.BackoffLimit, job.Spec.PodFailurePolicy)
			}
			if ptr.Deref(pod.ActiveDeadlineSeconds, 0) != 60 || pod.PriorityClassName != "restore-hooks" || pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != testSA {
				t.Errorf("pod deadline %v, priorityClass %q, restartPolicy %s, serviceAccount %q", pod.ActiveDeadlineSeconds, pod.PriorityClassName, pod.RestartPolicy, pod.ServiceAccountName)
			}
			if job.Annotations["restore.kubestash.com/hook-attempt"] != "1" || job.Spec.Template.Labels["restore.kubestash.com/hook"] != "pre-prepare" {
				t.Errorf("Job annotations %v, pod labels %v", job.Annotations, job.Spec.Template.Labels)
			}
			if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
				t.Fatalf("containers %+v, init containers %+v", pod.Containers, pod.InitContainers)
			}
			ctr := pod.Containers[0]
			if ctr.Name != "hook" || ctr.Image != "hook:v1" || strings.Join(ctr.Command, " ") != "/hook" || strings.Join(ctr.Args, " ") != "--target="+testSTS+" --level=3" {
				t.Errorf("container %s image %s command %v args %v", ctr.Name, ctr.Image, ctr.Command, ctr.Args)
			}
			if len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0].MountPath != "/scratch" || len(pod.Volumes) != 1 || pod.Volumes[0].Name != "scratch" {
				t.Errorf("volumes %v mounts %v", pod.Volumes, ctr.VolumeMounts)
			}
			for k, v := range map[string]string{invocation.EnvNamespace: testNS, invocation.EnvRestoreSession: testRSName, "FROM_TEMPLATE": "1", "FROM_HOOK": "2"} {
				if got := envValue(ctr.Env, k); got != v {
					t.Errorf("env %s = %q, want %q", k, got, v)
				}
			}
			if ctr.Ports != nil || ctr.Resources.Limits != nil {
				t.Errorf("ports %v, resources %+v: a hook container has none of its own", ctr.Ports, ctr.Resources)
			}
		},
	}, {
		name: "runtime settings: the container's replace, the pod's labels go under the controller's",
		edit: func(in *HookJobInput) {
			in.Hook.RuntimeSettings = &corev1alpha1.RuntimeSettings{
				Container: &corev1alpha1.ContainerRuntimeSettings{Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
				Pod: &corev1alpha1.PodRuntimeSettings{
					PodLabels:    map[string]string{"team": "db", "restore.kubestash.com/hook": "spoofed"},
					NodeSelector: map[string]string{"disk": "ssd"},
				},
			}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template
			if pod.Labels["team"] != "db" || pod.Labels["restore.kubestash.com/hook"] != "pre-prepare" {
				t.Errorf("pod labels = %v", pod.Labels)
			}
			if pod.Spec.NodeSelector["disk"] != "ssd" || pod.Spec.PriorityClassName != "" {
				t.Errorf("nodeSelector %v, priorityClass %q", pod.Spec.NodeSelector, pod.Spec.PriorityClassName)
			}
			if q := pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]; q.Cmp(resource.MustParse("1")) != 0 {
				t.Errorf("resources = %+v", pod.Spec.Containers[0].Resources)
			}
		},
	}, {
		name: "no timeout: no pod deadline",
		edit: func(in *HookJobInput) { in.Timeout = 0 },
		check: func(t *testing.T, job *batchv1.Job) {
			if d := job.Spec.Template.Spec.ActiveDeadlineSeconds; d != nil {
				t.Errorf("activeDeadlineSeconds = %d", *d)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleHookInput()
			if tc.edit != nil {
				tc.edit(&in)
			}
			job, err := HookJob(in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, job)
		})
	}
}

// TestHookJobErrors: the errors become the hook's failure message, so
// their text is the user's: an undefined variable is named as in a
// restore Job, a Pod Security violation names the Job.
func TestHookJobErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *HookJobInput)
		want string
	}{{
		name: "undefined variable",
		edit: func(in *HookJobInput) { delete(in.Variables, "level") },
		want: `Function "hook-fn" args[1]: variable ${level} is not defined and has no default`,
	}, {
		name: "Pod Security violation",
		edit: func(in *HookJobInput) {
			in.PodSecurity = PodSecurityOf(namespace(enforce("restricted")))
			in.Hook.Volumes = append(in.Hook.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run"}}})
		},
		want: `hook Job sample-restore-prehook-prepare-1: its pods would violate PodSecurity "restricted:latest" of namespace "demo": restricted volume types`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleHookInput()
			tc.edit(&in)
			_, err := HookJob(in)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("HookJob error = %v, want it to start with %q", err, tc.want)
			}
		})
	}
}

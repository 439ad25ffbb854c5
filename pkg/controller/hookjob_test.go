package controller

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// TestHookJobPodSecurity: the namespace's Pod Security reaches the hook
// Jobs too; a hook Job the namespace would reject fails the hook. (The
// security context of hook Jobs: package jobbuild.)
func TestHookJobPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		volumes []corev1.Volume
		failed  string
	}{
		{name: "restricted", labels: enforce("restricted")},
		{name: "restricted with a hostPath volume", labels: enforce("restricted"),
			volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run"}}}},
			failed:  `would violate PodSecurity "restricted:latest" of namespace "demo": restricted volume types`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			f.objects = append(f.objects,
				&addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hook-fn"}, Spec: addonsv1alpha1.FunctionSpec{Image: "hook:v1"}},
				&corev1alpha1.HookTemplate{
					ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: testNS},
					Spec: corev1alpha1.HookTemplateSpec{Executor: &corev1alpha1.HookExecutor{
						Type: corev1alpha1.HookExecutorFunction, Function: &corev1alpha1.FunctionHookExecutorSpec{Name: "hook-fn"},
					}},
				})
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
					Name: "prepare", HookTemplate: common.ObjectReference{Name: "fn"}, Volumes: tc.volumes,
				}}}
			})
			f.start()
			for range 3 {
				f.mustSync()
			}
			if tc.failed != "" {
				expectCondition(t, f.rs(), corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionFalse, corev1alpha1.ReasonFailedToExecutePreRestoreHooks, tc.failed)
				expectNoJobs(t, f)
				return
			}
			jobs := f.jobs()
			if len(jobs) != 1 || jobs[0].Labels[LabelHook] == "" {
				t.Fatalf("Jobs %d, want the hook's", len(jobs))
			}
			if sc := jobs[0].Spec.Template.Spec.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) {
				t.Errorf("hook Job pod securityContext = %+v, want the restricted namespace's non-root", sc)
			}
		})
	}
}

// TestFunctionHookJobTimeout: a Function hook runs as a Job per attempt;
// an attempt that outlives the hook's timeout is deleted and counted, and
// when no retry is left the restore fails without creating restore Jobs.
func TestFunctionHookJobTimeout(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects,
		&addonsv1alpha1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: "hook-fn"},
			Spec:       addonsv1alpha1.FunctionSpec{Image: "hook:v1", Command: []string{"/hook"}, Args: []string{"--target=${targetName}", "--level=${level}"}},
		},
		&corev1alpha1.HookTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: testNS},
			Spec: corev1alpha1.HookTemplateSpec{
				Params: []common.ParameterDefinition{{Name: "level", Default: "3"}},
				Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorFunction, Function: &corev1alpha1.FunctionHookExecutorSpec{
					Name: "hook-fn", Env: []corev1.EnvVar{{Name: "FROM_TEMPLATE", Value: "1"}},
				}},
			},
		})
	rs := newRestoreSession()
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
		Name: "prepare", HookTemplate: common.ObjectReference{Name: "fn"}, MaxRetry: 1,
		Timeout:         ptr.To(intstr.FromString("1m")),
		Volumes:         []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
		RuntimeSettings: &corev1alpha1.RuntimeSettings{Pod: &corev1alpha1.PodRuntimeSettings{PriorityClassName: "restore-hooks"}},
	}}}
	f.replaceObject(rs)
	f.start()

	res := f.mustSync()
	jobs := f.jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs after the first sync, want the hook's first attempt only", len(jobs))
	}
	job := jobs[0]
	pod := job.Spec.Template.Spec
	ctr := pod.Containers[0]
	if job.Name != hookJobName(f.rs(), preRestore, "prepare", 1) || *job.Spec.BackoffLimit != 0 ||
		ptr.Deref(pod.ActiveDeadlineSeconds, 0) != 60 || pod.PriorityClassName != "restore-hooks" {
		t.Errorf("hook Job %s: backoffLimit %d, pod deadline %v, priorityClass %q", job.Name, *job.Spec.BackoffLimit, pod.ActiveDeadlineSeconds, pod.PriorityClassName)
	}
	if strings.Join(ctr.Args, " ") != "--target="+testSTS+" --level=3" || ctr.Image != "hook:v1" {
		t.Errorf("hook container image %s args %v", ctr.Image, ctr.Args)
	}
	if len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0].MountPath != "/scratch" || len(pod.Volumes) != 1 {
		t.Errorf("hook volumes %v mounts %v", pod.Volumes, ctr.VolumeMounts)
	}
	if !envHas(ctr.Env, "FROM_TEMPLATE", "1") {
		t.Errorf("hook env %v lacks the template's variable", ctr.Env)
	}
	if res.requeueAfter == 0 || res.requeueAfter > time.Minute {
		t.Errorf("requeueAfter = %v, want the hook's timeout", res.requeueAfter)
	}

	f.clock.Step(61 * time.Second)
	f.mustSync() // first attempt timed out: deleted, attempt 2 due after the backoff
	f.clock.Step(time.Second)
	f.mustSync() // attempt 2 created
	names := map[string]bool{}
	for _, j := range f.jobs() {
		names[j.Name] = true
	}
	if names[hookJobName(f.rs(), preRestore, "prepare", 1)] || !names[hookJobName(f.rs(), preRestore, "prepare", 2)] {
		t.Fatalf("Jobs %v: want attempt 1 deleted and attempt 2 created", names)
	}
	f.setJobCondition(hookJobName(f.rs(), preRestore, "prepare", 2), batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	for i := 0; i < 3; i++ {
		f.mustSync()
	}
	got := f.rs()
	expectCondition(t, got, corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionFalse, corev1alpha1.ReasonFailedToExecutePreRestoreHooks, `"prepare"`, "BackoffLimitExceeded")
	expectPhase(t, got, corev1alpha1.RestoreFailed)
	for _, j := range f.jobs() {
		if j.Labels[LabelHook] == "" {
			t.Errorf("restore Job %s created after the pre-restore hook failed", j.Name)
		}
	}
}

func envHas(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

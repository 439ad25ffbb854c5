package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	f := newFunctionHookFixture(t, "1m")
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

	// The timeout counts from the pod's start, not the Job's creation.
	f.clock.Step(30 * time.Second)
	f.startJobPod(hookJobName(f.rs(), preRestore, "prepare", 1), f.clock.Now())
	f.clock.Step(31 * time.Second)
	f.mustSync() // 61 s after the Job's creation, 31 s after its pod's start
	if len(f.jobs()) != 1 {
		t.Fatalf("%d Jobs: the first attempt ended before its pod ran for the timeout", len(f.jobs()))
	}
	f.clock.Step(30 * time.Second)
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

// newFunctionHookFixture is a started fixture whose RestoreSession has one
// pre-restore Function hook "prepare" (one retry, the given timeout).
func newFunctionHookFixture(t *testing.T, timeout string) *fixture {
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
		Timeout:         ptr.To(intstr.FromString(timeout)),
		Volumes:         []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
		RuntimeSettings: &corev1alpha1.RuntimeSettings{Pod: &corev1alpha1.PodRuntimeSettings{PriorityClassName: "restore-hooks"}},
	}}}
	f.replaceObject(rs)
	return f.start()
}

func envHas(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

// startJobPod gives the Job named name a pod that started at started, as
// the Job controller and the kubelet would.
func (f *fixture) startJobPod(name string, started time.Time) {
	f.t.Helper()
	ctx := context.Background()
	job, err := f.kubeClient.BatchV1().Jobs(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("getting Job %s: %v", name, err)
	}
	if job.UID == "" {
		job.UID = types.UID("uid-" + name)
		if err := f.kubeClient.Tracker().Update(gvrJobs, job, testNS); err != nil {
			f.t.Fatal(err)
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, started.Unix()), Namespace: testNS, Labels: map[string]string{batchv1.ControllerUidLabel: string(job.UID)}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, StartTime: ptr.To(metav1.NewTime(started))},
	}
	if err := f.kubeClient.Tracker().Add(pod); err != nil {
		f.t.Fatal(err)
	}
	f.refresh()
}

// A Function hook attempt's timeout counts from its pod's start (the
// latest pod's): an attempt whose pod has not started, or started less
// than the timeout ago, runs on and asks for a sync when the timeout can
// pass; one whose pod ran for the timeout is deleted and fails.
func TestFunctionHookTimeoutCountsFromPodStart(t *testing.T) {
	const timeout = time.Minute
	for _, tc := range []struct {
		name string
		// pod starts, relative to the attempt's creation; none: no pod started
		starts []time.Duration
		// now, relative to the attempt's creation
		now          time.Duration
		wantTimedOut bool
		wantRequeue  time.Duration // when running
	}{
		{name: "no pod started long after the Job's creation", now: 10 * time.Minute, wantRequeue: timeout},
		{name: "pod started less than the timeout ago", starts: []time.Duration{50 * time.Second}, now: 70 * time.Second, wantRequeue: 40 * time.Second},
		{name: "pod ran for the timeout", starts: []time.Duration{10 * time.Second}, now: 71 * time.Second, wantTimedOut: true},
		{name: "the latest pod counts", starts: []time.Duration{time.Second, 2 * time.Minute}, now: 150 * time.Second, wantRequeue: 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFunctionHookFixture(t, "1m")
			f.mustSync()
			created := f.clock.Now()
			name := hookJobName(f.rs(), preRestore, "prepare", 1)
			for _, d := range tc.starts {
				f.startJobPod(name, created.Add(d))
			}
			f.clock.SetTime(created.Add(tc.now))
			res := f.mustSync()
			rs := f.rs()
			var attempt []corev1alpha1.HookExecutionStatus
			if rs.Status.Hooks != nil {
				attempt = rs.Status.Hooks.PreHooks
			}
			_, err := f.kubeClient.BatchV1().Jobs(testNS).Get(context.Background(), name, metav1.GetOptions{})
			if tc.wantTimedOut {
				if err == nil {
					t.Errorf("Job %s kept after its pod ran for the timeout", name)
				}
				if len(attempt) != 1 || !strings.Contains(attempt[0].Message, "after its pod started") {
					t.Errorf("hook status %+v, want the attempt failed on the timeout after its pod started", attempt)
				}
				return
			}
			if err != nil {
				t.Errorf("Job %s: %v, want it running", name, err)
			}
			if res.requeueAfter == 0 || res.requeueAfter > tc.wantRequeue {
				t.Errorf("requeueAfter = %v, want at most %v", res.requeueAfter, tc.wantRequeue)
			}
		})
	}
}

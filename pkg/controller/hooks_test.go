package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
)

func TestHookTimeout(t *testing.T) {
	for _, tc := range []struct {
		in      *intstr.IntOrString
		want    time.Duration
		wantErr bool
	}{
		{nil, 0, false},
		{ptr.To(intstr.FromInt32(30)), 30 * time.Second, false},
		{ptr.To(intstr.FromString("45")), 45 * time.Second, false},
		{ptr.To(intstr.FromString("2m")), 2 * time.Minute, false},
		{ptr.To(intstr.FromInt32(0)), 0, true},
		{ptr.To(intstr.FromString("-1s")), 0, true},
		{ptr.To(intstr.FromString("soon")), 0, true},
	} {
		got, err := hookTimeout(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("hookTimeout(%v) = %v, %v; want %v, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPolicyMatches(t *testing.T) {
	for _, tc := range []struct {
		policy    corev1alpha1.HookExecutionPolicy
		succeeded bool
		want      bool
	}{
		{"", true, true}, {"", false, true},
		{corev1alpha1.ExecuteAlways, false, true},
		{corev1alpha1.ExecuteOnSuccess, true, true}, {corev1alpha1.ExecuteOnSuccess, false, false},
		{corev1alpha1.ExecuteOnFailure, true, false}, {corev1alpha1.ExecuteOnFailure, false, true},
	} {
		if got := policyMatches(tc.policy, tc.succeeded); got != tc.want {
			t.Errorf("policyMatches(%q, %t) = %t, want %t", tc.policy, tc.succeeded, got, tc.want)
		}
	}
}

func TestSubstituteAction(t *testing.T) {
	vars := map[string]string{"db": "pg", "port": "5432", "token": "t0k"}
	in := &corev1alpha1.HookAction{
		Exec: &corev1.ExecAction{Command: []string{"psql", "-d", "${db}"}},
		HTTPPost: &corev1alpha1.HTTPPostAction{
			Host: "${db}.svc", Path: "/q/${db}", Port: intstr.FromString("${port}"), Body: `{"db":"${db}"}`,
			HTTPHeaders: []corev1.HTTPHeader{{Name: "Authorization", Value: "Bearer ${token}"}},
			Form:        []corev1alpha1.FormEntry{{Key: "db", Values: []string{"${db}"}}},
		},
	}
	got, err := substituteAction(in, vars)
	if err != nil {
		t.Fatal(err)
	}
	p := got.HTTPPost
	if got.Exec.Command[2] != "pg" || p.Host != "pg.svc" || p.Path != "/q/pg" || p.Port.StrVal != "5432" ||
		p.Body != `{"db":"pg"}` || p.HTTPHeaders[0].Value != "Bearer t0k" || p.Form[0].Values[0] != "pg" {
		t.Errorf("substituted action = %+v %+v", got.Exec, p)
	}
	if in.Exec.Command[2] != "${db}" {
		t.Error("substituteAction changed its input")
	}
	_, err = substituteAction(&corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Path: "/${missing}"}}, vars)
	if err == nil || !strings.Contains(err.Error(), "action.httpGet.path") {
		t.Errorf("undefined variable: error %v, want one naming action.httpGet.path", err)
	}
}

// recordingPodRunner records the Pod-hook attempts and fails the first
// failFirst of them.
type recordingPodRunner struct {
	failFirst int
	calls     []podRun
}

type podRun struct {
	command  []string
	pods     []string
	strategy corev1alpha1.PodHookExecutionStrategy
}

func (r *recordingPodRunner) Run(_ context.Context, action *corev1alpha1.HookAction, pods []corev1.Pod, strategy corev1alpha1.PodHookExecutionStrategy, _ hookaction.AddressPolicy) ([]hookaction.PodResult, error) {
	call := podRun{command: action.Exec.Command, strategy: strategy}
	for _, p := range pods {
		call.pods = append(call.pods, p.Name)
	}
	r.calls = append(r.calls, call)
	if len(r.calls) <= r.failFirst {
		err := errors.New("command exited with code 1")
		return []hookaction.PodResult{{Pod: pods[0].Name, Err: err}}, &hookaction.PodsError{Failed: []hookaction.PodResult{{Pod: pods[0].Name, Err: err}}, Total: 1}
	}
	return []hookaction.PodResult{{Pod: pods[0].Name}}, nil
}

func readyPod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
}

func podHookTemplate(name string) *corev1alpha1.HookTemplate {
	return &corev1alpha1.HookTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: corev1alpha1.HookTemplateSpec{
			Params:   []common.ParameterDefinition{{Name: "mode", Default: "fast"}},
			Action:   &corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"quiesce", "--mode=${mode}", "--restore=${restoreSession}"}}},
			Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorPod, Pod: &corev1alpha1.PodHookExecutorSpec{Strategy: corev1alpha1.ExecuteOnAll}},
		},
	}
}

// TestPodHook: a Pod-executor pre-restore hook runs in the target
// StatefulSet's pods with its params substituted, is retried once after a
// failed attempt and its backoff, and only then are the restore Jobs
// created.
func TestPodHook(t *testing.T) {
	f := newFixture(t)
	runner := &recordingPodRunner{failFirst: 1}
	f.opts.PodHookRunner = runner
	labels := map[string]string{"app": "db"}
	sts := newStatefulSet()
	sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	f.replaceKubeObject(sts)
	f.kubeObjects = append(f.kubeObjects, readyPod("restore-sts-0", labels), readyPod("restore-sts-1", labels), readyPod("unrelated", map[string]string{"app": "web"}))
	f.objects = append(f.objects, podHookTemplate("quiesce"))
	rs := newRestoreSession()
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
		Name: "quiesce", HookTemplate: common.ObjectReference{Name: "quiesce"}, MaxRetry: 1,
		Params: &runtime.RawExtension{Raw: []byte(`{"mode":"safe"}`)},
	}}}
	f.replaceObject(rs)
	f.start()

	f.syncHooks(10, func() bool { return len(f.jobs()) > 0 })
	if len(runner.calls) != 2 {
		t.Fatalf("pod hook ran %d times, want 2 (one failure, one retry)", len(runner.calls))
	}
	call := runner.calls[1]
	if strings.Join(call.command, " ") != "quiesce --mode=safe --restore="+testRSName || call.strategy != corev1alpha1.ExecuteOnAll {
		t.Errorf("pod hook call = %+v", call)
	}
	if strings.Join(call.pods, ",") != "restore-sts-0,restore-sts-1" {
		t.Errorf("pod hook ran with pods %v, want the StatefulSet's pods only", call.pods)
	}
	got := f.rs()
	pre := got.Status.Hooks.PreHooks[0]
	if pre.Phase != corev1alpha1.HookExecutionSucceeded || pre.Attempts != 2 {
		t.Errorf("pre hook status = %+v, want Succeeded after 2 attempts", pre)
	}
	expectCondition(t, got, corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyExecutedPreRestoreHooks)
	if len(f.jobs()) == 0 {
		t.Error("no restore Job after the pre-restore hook succeeded")
	}
	if !hasEvent(f.events(), "Warning "+EventReasonHookAttemptFailed) {
		t.Errorf("events %v: want a HookAttemptFailed warning", f.events())
	}
}

// TestPodHookReadsTargetOnce: the sync that starts a Pod hook's attempt
// reads the target workload once, for the restore Jobs' volumes and the
// hook's pods alike; the attempt itself does not read it again.
func TestPodHookReadsTargetOnce(t *testing.T) {
	for _, stage := range []hookStage{preRestore, postRestore} {
		t.Run(string(stage), func(t *testing.T) {
			f := newFixture(t)
			runner := &recordingPodRunner{}
			f.opts.PodHookRunner = runner
			labels := map[string]string{"app": "db"}
			sts := newStatefulSet()
			sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
			f.replaceKubeObject(sts)
			f.kubeObjects = append(f.kubeObjects, readyPod("restore-sts-0", labels), readyPod("unrelated", map[string]string{"app": "web"}))
			f.objects = append(f.objects, podHookTemplate("quiesce"))
			rs := newRestoreSession()
			hooks := []corev1alpha1.HookInfo{{Name: "quiesce", HookTemplate: common.ObjectReference{Name: "quiesce"}}}
			rs.Spec.Hooks = &corev1alpha1.RestoreHooks{}
			if stage == preRestore {
				rs.Spec.Hooks.PreRestore = hooks
			} else {
				rs.Spec.Hooks.PostRestore = hooks
			}
			f.replaceObject(rs)
			f.start()
			if stage == postRestore {
				f.mustSync() // the restore Jobs
				f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
			}
			f.syncHooks(1, func() bool { return false }) // starts the attempt and waits for its end
			if len(runner.calls) != 1 || strings.Join(runner.calls[0].pods, ",") != "restore-sts-0" {
				t.Fatalf("pod hook calls %+v, want one in the StatefulSet's pod", runner.calls)
			}
			gets := 0
			for _, a := range f.kubeClient.Actions() {
				if a.GetVerb() == "get" && a.GetResource().Resource == "statefulsets" {
					gets++
				}
			}
			if gets != 1 {
				t.Errorf("the sync and its attempt read the StatefulSet %d times, want once", gets)
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

package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
)

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

// TestOperatorHookLocalAddress: without HookAddressPolicy.AllowLocal an
// Operator hook aimed at 127.0.0.1 fails without reaching the server, and
// says which flag allows it; with AllowLocal the same hook succeeds.
func TestOperatorHookLocalAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy hookaction.AddressPolicy
	}{
		{name: "refused by default"},
		{name: "allowed by AllowLocal", policy: hookaction.AddressPolicy{AllowLocal: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, port, requests := loopbackHookServer(t)
			f := newFixture(t)
			f.opts.HookAddressPolicy = tc.policy
			f.objects = append(f.objects, operatorHookTemplate("ping", port))
			withPreRestoreHook(f, "ping")
			f.start()

			f.syncHooks(5, func() bool { return len(f.jobs()) > 0 || f.rs().Status.Phase == corev1alpha1.RestoreFailed })
			got := f.rs()
			pre := got.Status.Hooks.PreHooks[0]

			if tc.policy.AllowLocal {
				if pre.Phase != corev1alpha1.HookExecutionSucceeded || requests.Load() != 1 {
					t.Fatalf("hook %+v, server got %d requests; want Succeeded after 1 request", pre, requests.Load())
				}
				if len(f.jobs()) == 0 {
					t.Error("no restore Job after the pre-restore hook succeeded")
				}
				return
			}
			refusal := "GET http://" + addr + "/ping: hook target " + addr +
				" is a loopback address, which hooks may not reach (restore-controller --hook-allow-local-addresses allows it)"
			if pre.Phase != corev1alpha1.HookExecutionFailed || pre.Attempts != 1 || pre.Message != refusal {
				t.Errorf("hook status = %+v,\nwant Failed after 1 attempt with message %q", pre, refusal)
			}
			expectCondition(t, got, corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionFalse,
				corev1alpha1.ReasonFailedToExecutePreRestoreHooks, `"ping"`, refusal)
			expectPhase(t, got, corev1alpha1.RestoreFailed)
			if n := requests.Load(); n != 0 {
				t.Errorf("the loopback server got %d requests, want none", n)
			}
			expectNoJobs(t, f)
		})
	}
}

// TestPrepareAction: Go templates render over the restore's summary, then
// ${NAME} variables are substituted; a variable's value is never read as a
// template, and a template error names the field.
func TestPrepareAction(t *testing.T) {
	data := hookaction.Summary{Name: "r", Namespace: "demo", Status: hookaction.TargetStatus{Phase: "Succeeded"}}
	vars := map[string]string{"note": "{{ .Name }}"}
	in := &corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo {{ .Status.Phase }} ${note}"}}}
	got, err := prepareAction(in, data, vars)
	if err != nil {
		t.Fatal(err)
	}
	if want := "echo Succeeded {{ .Name }}"; got.Exec.Command[2] != want {
		t.Errorf("command = %q, want %q", got.Exec.Command[2], want)
	}
	if in.Exec.Command[2] != "echo {{ .Status.Phase }} ${note}" {
		t.Error("prepareAction changed its input")
	}
	_, err = prepareAction(&corev1alpha1.HookAction{HTTPPost: &corev1alpha1.HTTPPostAction{Body: "{{ .Status.Nope }}"}}, data, vars)
	if err == nil || !strings.Contains(err.Error(), "action.httpPost.body") || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("bad template: error %v, want one naming action.httpPost.body and the field", err)
	}
}

func TestHookSummary(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Message: msg}
	}
	cases := []struct {
		name       string
		conditions []metav1.Condition
		components map[string]corev1alpha1.ComponentRestoreStatus
		phase      string
		err        string
	}{
		{name: "nothing failed", conditions: []metav1.Condition{cond(corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, "ok"), cond(corev1alpha1.TypeRestoreIncomplete, metav1.ConditionFalse, "complete")},
			components: map[string]corev1alpha1.ComponentRestoreStatus{"pod-0": {Phase: corev1alpha1.RestoreSucceeded}}, phase: "Succeeded"},
		{name: "a False condition", conditions: []metav1.Condition{cond(corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionFalse, "hook x failed")}, phase: "Failed", err: "hook x failed"},
		{name: "RestoreIncomplete True", conditions: []metav1.Condition{cond(corev1alpha1.TypeRestoreIncomplete, metav1.ConditionTrue, "Job ended early")}, phase: "Failed", err: "Job ended early"},
		{name: "a failed component", components: map[string]corev1alpha1.ComponentRestoreStatus{
			"pod-1": {Phase: corev1alpha1.RestoreFailed, Error: "disk full"}, "pod-0": {Phase: corev1alpha1.RestoreSucceeded}},
			phase: "Failed", err: "component pod-1: disk full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := newRestoreSession()
			rs.Status.Conditions, rs.Status.Components, rs.Status.Duration = tc.conditions, tc.components, "5s"
			got := hookSummary(rs)
			if got.Status.Phase != tc.phase || got.Status.Error != tc.err || got.Status.Duration != "5s" {
				t.Errorf("status = %+v, want phase %s error %q", got.Status, tc.phase, tc.err)
			}
			if got.Name != testRSName || got.Namespace != testNS || got.Invoker.Kind != "RestoreSession" || got.Invoker.APIGroup != "core.kubestash.com" ||
				got.Target == nil || got.Target.Name != testSTS || got.Target.Namespace != testNS {
				t.Errorf("summary = %+v (invoker %+v, target %+v)", got, got.Invoker, got.Target)
			}
		})
	}
}

// TestPodHookOwnerAndTemplate: a Pod hook with executor.pod.owner runs
// only in the selected pods its owner owns, and its command is rendered
// as a Go template over the restore's summary before ${NAME} variables.
func TestPodHookOwnerAndTemplate(t *testing.T) {
	f := newFixture(t)
	runner := &recordingPodRunner{}
	f.opts.PodHookRunner = runner
	labels := map[string]string{"app": "db"}
	owned := readyPod("restore-sts-0", labels)
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: testSTS, UID: "sts-uid"}}
	f.kubeObjects = append(f.kubeObjects, owned, readyPod("stray-db", labels))
	ht := podHookTemplate("quiesce")
	ht.Spec.Action.Exec.Command = []string{"echo", "{{ .Status.Phase }}/{{ .Target.Name }}", "${mode}"}
	ht.Spec.Executor.Pod = &corev1alpha1.PodHookExecutorSpec{
		Selector: "app=db", Strategy: corev1alpha1.ExecuteOnAll,
		Owner: &corev1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: testSTS},
	}
	f.objects = append(f.objects, ht)
	withPreRestoreHook(f, "quiesce")
	f.start()

	f.syncHooks(5, func() bool { return len(f.jobs()) > 0 })
	if len(runner.calls) != 1 {
		t.Fatalf("pod hook ran %d times, want once", len(runner.calls))
	}
	call := runner.calls[0]
	if got, want := strings.Join(call.command, " "), "echo Succeeded/"+testSTS+" fast"; got != want {
		t.Errorf("command = %q, want %q", got, want)
	}
	if strings.Join(call.pods, ",") != "restore-sts-0" {
		t.Errorf("pods = %v, want only the StatefulSet's own pod", call.pods)
	}
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/test/framework"
)

// hookServer is a test HTTP server that hooks call. respond decides each
// answer from the request and its 1-based number on the path.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method, path, query, body, header string
	at                                time.Time
}

func newHookServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *hookServer {
	t.Helper()
	hs := &hookServer{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hs.mu.Lock()
		hs.requests = append(hs.requests, recordedRequest{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Get("X-Restore-Token"), time.Now()})
		n := 0
		for _, req := range hs.requests {
			if req.path == r.URL.Path {
				n++
			}
		}
		hs.mu.Unlock()
		respond(w, r, n)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func (hs *hookServer) received(path string) []recordedRequest {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []recordedRequest
	for _, r := range hs.requests {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

func (hs *hookServer) port(t *testing.T) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// allowLocalHookAddresses lets hooks reach the hook server, which listens on
// 127.0.0.1 (restore-controller --hook-allow-local-addresses).
func allowLocalHookAddresses(o *controller.Options) {
	o.HookAddressPolicy = hookaction.AddressPolicy{AllowLocal: true}
}

// operatorHookTemplate creates a HookTemplate whose Operator executor calls
// path on the hook server with httpGet, sending the param "token" as a
// header.
func operatorHookTemplate(t *testing.T, ns, name string, port int32, path string) {
	t.Helper()
	framework.MustCreate(t, "HookTemplate", func() error {
		_, err := restoreClient.CoreV1alpha1().HookTemplates(ns).Create(context.Background(), &corev1alpha1.HookTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1alpha1.HookTemplateSpec{
				Params: []common.ParameterDefinition{{Name: "token", Default: "none"}},
				Action: &corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{
					Host: "127.0.0.1", Port: intstr.FromInt32(port),
					Path:        path + "?restore=${restoreSession}&target=${targetName}",
					HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Restore-Token", Value: "${token}"}},
				}},
				Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorOperator},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

func hook(name, template string, mutate ...func(*corev1alpha1.HookInfo)) corev1alpha1.HookInfo {
	h := corev1alpha1.HookInfo{Name: name, HookTemplate: common.ObjectReference{Name: template}}
	for _, m := range mutate {
		m(&h)
	}
	return h
}

func hookStatus(list []corev1alpha1.HookExecutionStatus, name string) corev1alpha1.HookExecutionStatus {
	for _, h := range list {
		if h.Name == name {
			return h
		}
	}
	return corev1alpha1.HookExecutionStatus{}
}

// TestHooksOperatorRetryAndTimeout: an Operator httpGet pre-restore hook
// whose first attempt outlives its timeout is retried after the retry
// backoff and succeeds; its
// params and variables reach the server. A post-restore hook runs after
// every component finished.
func TestHooksOperatorRetryAndTimeout(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-op-"+ns, "repo")
	w.dumpIntoAppData(t)

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	server := newHookServer(t, func(rw http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/quiesce" && n == 1 {
			// The first attempt hangs past the hook's timeout.
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	operatorHookTemplate(t, ns, "quiesce", server.port(t), "/quiesce")
	operatorHookTemplate(t, ns, "resume", server.port(t), "/resume")
	startController(t, allowLocalHookAddresses)

	rs := w.restoreSession("op-hooks", "snap", appDataTarget(), "")
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{
		PreRestore: []corev1alpha1.HookInfo{hook("quiesce", "quiesce", func(h *corev1alpha1.HookInfo) {
			h.MaxRetry = 2
			h.Timeout = ptr.To(intstr.FromString("2s"))
			h.Params = &runtime.RawExtension{Raw: []byte(`{"token":"s3cret"}`)}
		})},
		PostRestore: []corev1alpha1.HookInfo{hook("resume", "resume")},
	}
	start := time.Now()
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)

	pre := hookStatus(got.Status.Hooks.PreHooks, "quiesce")
	if pre.Phase != corev1alpha1.HookExecutionSucceeded || pre.Attempts != 2 {
		t.Errorf("pre hook status = %+v, want Succeeded after 2 attempts", pre)
	}
	calls := server.received("/quiesce")
	if len(calls) != 2 {
		t.Fatalf("quiesce called %d times, want 2 (a timed-out attempt, then a retry)", len(calls))
	}
	if gap := calls[1].at.Sub(calls[0].at); gap < 3*time.Second {
		t.Errorf("retry came %s after the first attempt, before the 2s timeout and the 1s retry backoff", gap)
	}
	if calls[1].query != "restore=op-hooks&target=app-data" || calls[1].header != "s3cret" {
		t.Errorf("quiesce request query=%q token=%q: variables or params not substituted", calls[1].query, calls[1].header)
	}
	for _, cond := range []string{corev1alpha1.TypePreRestoreHooksExecutionSucceeded, corev1alpha1.TypePostRestoreHooksExecutionSucceeded} {
		if c := apimeta.FindStatusCondition(got.Status.Conditions, cond); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("condition %s = %+v, want True", cond, c)
		}
	}
	post := server.received("/resume")
	if len(post) != 1 || hookStatus(got.Status.Hooks.PostHooks, "resume").Phase != corev1alpha1.HookExecutionSucceeded {
		t.Fatalf("resume hook: %d calls, status %+v", len(post), got.Status.Hooks.PostHooks)
	}
	// The restore Job ran between the hooks.
	jobs := restoreJobs(t, ns, rs.Name)
	var restoreJob *time.Time
	for _, j := range jobs {
		if j.Annotations[controller.AnnotationComponent] == "dump" {
			restoreJob = &j.CreationTimestamp.Time
		}
	}
	if restoreJob == nil {
		t.Fatalf("no restore Job among %d Jobs", len(jobs))
	}
	if restoreJob.Before(calls[1].at.Truncate(time.Second)) {
		t.Errorf("restore Job created at %s, before the pre-restore hook succeeded at %s", restoreJob, calls[1].at)
	}
	t.Logf("restore with hooks took %s", time.Since(start).Round(time.Millisecond))
}

// TestHooksSlowOperatorHooksDoNotBlock: two RestoreSessions whose
// pre-restore Operator hooks the server holds for a minute do not occupy
// the controller's two workers: a third RestoreSession, without hooks,
// gets its restore Job within seconds. Once the server answers, the two
// held restores go on.
func TestHooksSlowOperatorHooksDoNotBlock(t *testing.T) {
	const held = 60 * time.Second
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-slow-"+ns, "repo")
	w.dumpIntoAppData(t)

	release := make(chan struct{})
	server := newHookServer(t, func(rw http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-time.After(held):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseAll) // before the server closes, which waits for held requests
	operatorHookTemplate(t, ns, "slow", server.port(t), "/slow")
	startController(t, allowLocalHookAddresses) // two workers

	hooked := []string{"slow-1", "slow-2"}
	for _, name := range hooked {
		rs := w.restoreSession(name, "snap", appDataTarget(), "")
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{hook("slow", "slow")}}
		createRestore(t, rs)
	}
	framework.Poll(t, 30*time.Second, "the server to hold both hooks", func(context.Context) (bool, string, error) {
		n := len(server.received("/slow"))
		return n == len(hooked), fmt.Sprintf("%d requests", n), nil
	})
	heldSince := time.Now()

	plain := w.restoreSession("plain", "snap", appDataTarget(), "")
	created := time.Now()
	createRestore(t, plain)
	framework.Poll(t, held/2, "the restore Job of the RestoreSession without hooks", func(context.Context) (bool, string, error) {
		n := len(restoreJobs(t, ns, plain.Name))
		return n > 0, fmt.Sprintf("%d Jobs", n), nil
	})
	delay := time.Since(created)
	t.Logf("restore Job of the RestoreSession without hooks created %s after it, while two hooks were held", delay.Round(time.Millisecond))
	if delay >= 10*time.Second {
		t.Errorf("restore Job created %s after its RestoreSession, want < 10s: slow hooks block the workers", delay)
	}
	if n := len(server.received("/slow")); n != len(hooked) || time.Since(heldSince) >= held {
		t.Fatalf("%d hook requests, held for %s: want both hooks still held by their first request", n, time.Since(heldSince))
	}
	for _, name := range hooked {
		if jobs := restoreJobs(t, ns, name); len(jobs) != 0 {
			t.Errorf("RestoreSession %s has %d Jobs while its pre-restore hook is held", name, len(jobs))
		}
	}

	releaseAll()
	for _, name := range hooked {
		var h corev1alpha1.HookExecutionStatus
		framework.Poll(t, 30*time.Second, "the hook to succeed and the restore Job of "+name, func(ctx context.Context) (bool, string, error) {
			rs, err := restoreClient.CoreV1alpha1().RestoreSessions(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || rs.Status.Hooks == nil {
				return false, fmt.Sprint(err), nil
			}
			h = hookStatus(rs.Status.Hooks.PreHooks, "slow")
			n := len(restoreJobs(t, ns, name))
			return h.Phase == corev1alpha1.HookExecutionSucceeded && n > 0, fmt.Sprintf("hook %+v, %d Jobs", h, n), nil
		})
		if h.Attempts != 1 {
			t.Errorf("%s: hook status = %+v, want Succeeded after 1 attempt", name, h)
		}
	}
	if n := len(server.received("/slow")); n != len(hooked) {
		t.Errorf("%d hook requests in all, want %d (one per hook)", n, len(hooked))
	}
}

// TestHooksFunctionJob: Function hooks run as Jobs with the hook's volumes
// and variables; a Function hook that keeps failing is retried maxRetry
// times, fails the restore with a condition naming it, and leaves no
// backup paused.
func TestHooksFunctionJob(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-fn-"+ns, "repo")
	w.dumpIntoAppData(t)
	fnName := "hook-fn-" + ns
	framework.MustCreate(t, "Function", func() error {
		_, err := restoreClient.AddonsV1alpha1().Functions().Create(ctx, &addonsv1alpha1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: fnName},
			Spec: addonsv1alpha1.FunctionSpec{
				Image:   workloadImage,
				Command: []string{"/testworkload"},
				Args:    []string{"${mode}", "${file:=/hook-out/marker.txt}", "${message:=}"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Functions().Delete(ctx, fnName, metav1.DeleteOptions{}) })
	framework.MustCreate(t, "HookTemplate", func() error {
		_, err := restoreClient.CoreV1alpha1().HookTemplates(ns).Create(ctx, &corev1alpha1.HookTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "run"},
			Spec: corev1alpha1.HookTemplateSpec{
				Params: []common.ParameterDefinition{{Name: "mode", Required: true}, {Name: "message"}, {Name: "file"}},
				Executor: &corev1alpha1.HookExecutor{
					Type:     corev1alpha1.HookExecutorFunction,
					Function: &corev1alpha1.FunctionHookExecutorSpec{Name: fnName},
				},
			},
		}, metav1.CreateOptions{})
		return err
	})
	backupConfiguration(t, ns, "nightly", appDataTarget())
	out := t.TempDir()
	startController(t)

	rs := w.restoreSession("fn-hooks", "snap", appDataTarget(), "")
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{
		PreRestore: []corev1alpha1.HookInfo{hook("write-marker", "run", func(h *corev1alpha1.HookInfo) {
			h.Params = &runtime.RawExtension{Raw: []byte(`{"mode":"write","message":"written by the hook"}`)}
			h.Volumes = []corev1.Volume{{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: out}}}}
			h.VolumeMounts = []corev1.VolumeMount{{Name: "out", MountPath: "/hook-out"}}
		})},
		PostRestore: []corev1alpha1.HookInfo{hook("always-fails", "run", func(h *corev1alpha1.HookInfo) {
			h.Params = &runtime.RawExtension{Raw: []byte(`{"mode":"exit","file":"1"}`)}
			h.MaxRetry = 1
		})},
	}
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)

	marker, err := os.ReadFile(filepath.Join(out, "marker.txt"))
	if err != nil || string(marker) != "written by the hook" {
		t.Errorf("pre-restore Function hook output = %q, %v; want the param's message in the hook volume", marker, err)
	}
	if c := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypePostRestoreHooksExecutionSucceeded); c == nil || c.Status != metav1.ConditionFalse ||
		c.Reason != corev1alpha1.ReasonFailedToExecutePostRestoreHooks || !strings.Contains(c.Message, `"always-fails"`) {
		t.Errorf("post-restore hooks condition = %+v, want False naming the hook", c)
	}
	if comp := got.Status.Components["dump"]; comp.Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("component dump = %+v: the data restore itself succeeded", comp)
	}
	if post := hookStatus(got.Status.Hooks.PostHooks, "always-fails"); post.Phase != corev1alpha1.HookExecutionFailed || post.Attempts != 2 {
		t.Errorf("post hook status = %+v, want Failed after 2 attempts", post)
	}
	hookJobs := 0
	for _, j := range restoreJobs(t, ns, rs.Name) {
		if j.Labels[controller.LabelHook] != "" {
			hookJobs++
		}
	}
	if hookJobs != 3 {
		t.Errorf("%d hook Jobs, want 3 (one pre-restore, two attempts of the post-restore hook)", hookJobs)
	}
	waitForResumed(t, ns, "nightly")
}

// waitForResumed waits until the BackupConfiguration is not paused.
func waitForResumed(t *testing.T, ns, name string) {
	t.Helper()
	framework.Poll(t, 30*time.Second, name+" resumed", func(ctx context.Context) (bool, string, error) {
		bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return !bc.Spec.Paused, fmt.Sprintf("paused=%t", bc.Spec.Paused), nil
	})
}

// TestHooksExecutionPolicy: after a failed restore an OnFailure post hook
// runs and an OnSuccess one is skipped; a failing pre-restore hook skips
// the restore, fails it and resumes the paused backups.
func TestHooksExecutionPolicy(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-policy-"+ns, "repo")
	w.dumpIntoAppData(t)
	server := newHookServer(t, func(rw http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/broken" {
			http.Error(rw, "database refuses to quiesce", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	for _, p := range []string{"on-failure", "on-success", "broken"} {
		operatorHookTemplate(t, ns, p, server.port(t), "/"+p)
	}
	backupConfiguration(t, ns, "nightly", appDataTarget())
	startController(t, allowLocalHookAddresses)
	postHooks := []corev1alpha1.HookInfo{
		hook("notify-failure", "on-failure", func(h *corev1alpha1.HookInfo) { h.ExecutionPolicy = corev1alpha1.ExecuteOnFailure }),
		hook("notify-success", "on-success", func(h *corev1alpha1.HookInfo) { h.ExecutionPolicy = corev1alpha1.ExecuteOnSuccess }),
	}

	t.Run("a failed restore runs only the OnFailure hook", func(t *testing.T) {
		rs := w.restoreSession("fails", "snap", appDataTarget(), `{"outcome":"fail"}`)
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PostRestore: postHooks}
		createRestore(t, rs)
		got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
		if n := len(server.received("/on-failure")); n != 1 {
			t.Errorf("OnFailure hook called %d times, want 1", n)
		}
		if n := len(server.received("/on-success")); n != 0 {
			t.Errorf("OnSuccess hook called %d times after a failed restore", n)
		}
		if s := hookStatus(got.Status.Hooks.PostHooks, "notify-success"); s.Phase != corev1alpha1.HookExecutionSkipped {
			t.Errorf("OnSuccess hook status = %+v, want Skipped", s)
		}
	})

	t.Run("a failed pre-restore hook skips the restore", func(t *testing.T) {
		rs := w.restoreSession("pre-fails", "snap", appDataTarget(), "")
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{
			PreRestore:  []corev1alpha1.HookInfo{hook("quiesce", "broken", func(h *corev1alpha1.HookInfo) { h.MaxRetry = 1 })},
			PostRestore: postHooks,
		}
		createRestore(t, rs)
		got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
		c := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypePreRestoreHooksExecutionSucceeded)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "500") || !strings.Contains(c.Message, "database refuses to quiesce") {
			t.Errorf("pre-restore hooks condition = %+v, want False with the server's answer", c)
		}
		if n := len(server.received("/broken")); n != 2 {
			t.Errorf("failing pre-restore hook called %d times, want 2 (maxRetry 1)", n)
		}
		for _, j := range restoreJobs(t, ns, rs.Name) {
			t.Errorf("restore Job %s created although the pre-restore hook failed", j.Name)
		}
		if len(got.Status.Components) != 0 {
			t.Errorf("components %v restored although the pre-restore hook failed", got.Status.Components)
		}
		if n := len(server.received("/on-failure")); n != 2 {
			t.Errorf("OnFailure post hook called %d times in total, want 2 (once per failed restore)", n)
		}
		waitForResumed(t, ns, "nightly")
	})
}

// TestHooksRefusedByUsagePolicy: a HookTemplate of another namespace whose
// usagePolicy does not admit the RestoreSession's namespace makes the
// restore Invalid, naming the hook's field.
func TestHooksRefusedByUsagePolicy(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	other := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-policy-ns-"+ns, "repo")
	w.dumpIntoAppData(t)
	operatorHookTemplate(t, other, "private", 1, "/")
	startController(t)

	rs := w.restoreSession("refused", "snap", appDataTarget(), "")
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
		Name: "foreign", HookTemplate: common.ObjectReference{Name: "private", Namespace: other},
	}}}
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreInvalid, restoreTimeout)
	c := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypeValidationPassed)
	if c == nil || !strings.Contains(c.Message, "spec.hooks.preRestore[0].hookTemplate") || !strings.Contains(c.Message, "usagePolicy") {
		t.Errorf("ValidationPassed = %+v, want a message naming spec.hooks.preRestore[0].hookTemplate and its usagePolicy", c)
	}
}

// TestHooksOperatorLimits: with the controller's defaults an Operator hook
// aimed at 127.0.0.1 fails without reaching the server, saying which flag
// allows it; with an Operator hook namespace selector, a RestoreSession in
// a namespace whose labels do not match is Invalid.
func TestHooksOperatorLimits(t *testing.T) {
	const label, value = "restore.kubestash.com/operator-hooks", "allowed"
	server := newHookServer(t, func(rw http.ResponseWriter, _ *http.Request, _ int) { fmt.Fprintln(rw, "ok") })
	allowed, refused := framework.NewNamespace(t, c, "e2e-"), framework.NewNamespace(t, c, "e2e-")
	patch := []byte(`{"metadata":{"labels":{"` + label + `":"` + value + `"}}}`)
	if _, err := c.Client().CoreV1().Namespaces().Patch(context.Background(), allowed, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	selector, err := labels.Parse(label + "=" + value)
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string]*corev1alpha1.RestoreSession{}
	for _, ns := range []string{allowed, refused} {
		w := newRestoreWorld(t, ns, "hooks-limits-"+ns, "repo")
		w.dumpIntoAppData(t)
		operatorHookTemplate(t, ns, "local", server.port(t), "/local")
		rs := w.restoreSession("limited", "snap", appDataTarget(), "")
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{hook("local", "local")}}
		sessions[ns] = rs
	}
	startController(t, func(o *controller.Options) { o.OperatorHookNamespaceSelector = selector })
	for _, rs := range sessions {
		createRestore(t, rs)
	}

	got := framework.WaitForPhase(t, restoreClient, refused, "limited", corev1alpha1.RestoreInvalid, restoreTimeout)
	want := fmt.Sprintf(`HookTemplate %s/local uses the Operator executor, which namespace %q may not use (restore-controller --operator-hook-namespace-selector "%s=%s")`, refused, refused, label, value)
	if c := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypeValidationPassed); c == nil || !strings.Contains(c.Message, "spec.hooks.preRestore[0].hookTemplate") || !strings.Contains(c.Message, want) {
		t.Errorf("ValidationPassed = %+v, want a message naming spec.hooks.preRestore[0].hookTemplate and %q", c, want)
	}

	got = framework.WaitForPhase(t, restoreClient, allowed, "limited", corev1alpha1.RestoreFailed, restoreTimeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(server.port(t))))
	refusal := "hook target " + addr + " is a loopback address, which hooks may not reach (restore-controller --hook-allow-local-addresses allows it)"
	if h := hookStatus(got.Status.Hooks.PreHooks, "local"); h.Phase != corev1alpha1.HookExecutionFailed || !strings.Contains(h.Message, refusal) {
		t.Errorf("hook status = %+v, want Failed with %q", h, refusal)
	}
	if n := len(server.received("/local")); n != 0 {
		t.Errorf("the hook server got %d requests, want none", n)
	}
}

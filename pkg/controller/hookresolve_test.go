package controller

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
)

// loopbackHookServer is an HTTP server on 127.0.0.1 that counts requests.
func loopbackHookServer(t *testing.T) (addr string, port int32, requests *atomic.Int32) {
	t.Helper()
	requests = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
	}))
	t.Cleanup(srv.Close)
	addr = srv.Listener.Addr().String()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return addr, int32(n), requests
}

// operatorHookTemplate is an Operator-executor HookTemplate in testNS whose
// action is an httpGet of /ping on 127.0.0.1:port.
func operatorHookTemplate(name string, port int32) *corev1alpha1.HookTemplate {
	return &corev1alpha1.HookTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: corev1alpha1.HookTemplateSpec{
			Action:   &corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "127.0.0.1", Port: intstr.FromInt32(port), Path: "/ping"}},
			Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorOperator},
		},
	}
}

// withPreRestoreHook makes the sample RestoreSession run HookTemplate
// template before the restore.
func withPreRestoreHook(f *fixture, template string) {
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
			Name: "ping", HookTemplate: common.ObjectReference{Name: template},
		}}}
	})
}

// TestOperatorHookNamespaceSelector: with OperatorHookNamespaceSelector set,
// a RestoreSession may use an Operator-executor HookTemplate only when its
// namespace's labels match; otherwise it is Invalid and the message names
// the hook's field and the rule. Other executors are not limited.
func TestOperatorHookNamespaceSelector(t *testing.T) {
	const rule = "restore.kubestash.com/operator-hooks=allowed"
	selector, err := labels.Parse(rule)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		selector  labels.Selector
		nsLabels  map[string]string
		podHook   bool     // a Pod-executor template instead of an Operator one
		fragments []string // of the ValidationPassed message; nil: valid
	}{
		{name: "no selector: every namespace", nsLabels: nil},
		{name: "matching namespace", selector: selector, nsLabels: map[string]string{"restore.kubestash.com/operator-hooks": "allowed"}},
		{name: "namespace without the label", selector: selector, nsLabels: map[string]string{"team": "a"},
			fragments: []string{"spec.hooks.preRestore[0].hookTemplate",
				`HookTemplate demo/ping uses the Operator executor, which namespace "demo" may not use (restore-controller --operator-hook-namespace-selector "` + rule + `")`}},
		{name: "namespace with another value", selector: selector, nsLabels: map[string]string{"restore.kubestash.com/operator-hooks": "denied"},
			fragments: []string{"spec.hooks.preRestore[0].hookTemplate", `which namespace "demo" may not use`}},
		{name: "Pod executor is not limited", selector: selector, podHook: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, port, requests := loopbackHookServer(t)
			f := newFixture(t)
			f.opts.OperatorHookNamespaceSelector = tc.selector
			f.opts.HookAddressPolicy = hookaction.AddressPolicy{AllowLocal: true} // the server is on 127.0.0.1
			f.opts.PodHookRunner = &recordingPodRunner{}
			f.replaceKubeObject(newNamespace(testNS, tc.nsLabels))
			if tc.podHook {
				tmpl := podHookTemplate("ping")
				tmpl.Spec.Executor.Pod.Selector = "app=db"
				f.objects = append(f.objects, tmpl)
				f.kubeObjects = append(f.kubeObjects, readyPod("db-0", map[string]string{"app": "db"}))
			} else {
				f.objects = append(f.objects, operatorHookTemplate("ping", port))
			}
			withPreRestoreHook(f, "ping")
			f.start()

			f.mustSync()
			got := f.rs()
			if tc.fragments != nil {
				expectPhase(t, got, corev1alpha1.RestoreInvalid)
				expectCondition(t, got, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, tc.fragments...)
				if n := requests.Load(); n != 0 {
					t.Errorf("the hook server got %d requests from an Invalid restore", n)
				}
				expectNoJobs(t, f)
				return
			}
			expectCondition(t, got, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, "")
			f.syncHooks(5, func() bool { return len(f.jobs()) > 0 })
			if pre := f.rs().Status.Hooks.PreHooks[0]; pre.Phase != corev1alpha1.HookExecutionSucceeded {
				t.Errorf("hook status = %+v, want Succeeded", pre)
			}
			if !tc.podHook && requests.Load() != 1 {
				t.Errorf("the hook server got %d requests, want 1", requests.Load())
			}
		})
	}
}

// TestOperatorHookNamespaceSelectorAtRun: the rule is checked again when
// a hook runs, so a post-restore hook of a namespace that lost its label
// after validation fails without reaching the server.
func TestOperatorHookNamespaceSelectorAtRun(t *testing.T) {
	selector, err := labels.Parse("restore.kubestash.com/operator-hooks=allowed")
	if err != nil {
		t.Fatal(err)
	}
	_, port, requests := loopbackHookServer(t)
	f := newFixture(t)
	f.opts.OperatorHookNamespaceSelector = selector
	f.opts.HookAddressPolicy = hookaction.AddressPolicy{AllowLocal: true} // the server is on 127.0.0.1
	f.replaceKubeObject(newNamespace(testNS, map[string]string{"restore.kubestash.com/operator-hooks": "allowed"}))
	f.objects = append(f.objects, operatorHookTemplate("ping", port))
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PostRestore: []corev1alpha1.HookInfo{{
			Name: "ping", HookTemplate: common.ObjectReference{Name: "ping"},
		}}}
	})
	f.start()

	f.mustSync()
	expectCondition(t, f.rs(), corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, "")
	if _, err := f.kubeClient.CoreV1().Namespaces().Update(t.Context(), newNamespace(testNS, nil), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
	f.syncHooks(5, func() bool { return f.rs().Status.Phase == corev1alpha1.RestoreFailed })
	got := f.rs()
	if post := got.Status.Hooks.PostHooks; len(post) != 1 || post[0].Phase != corev1alpha1.HookExecutionFailed ||
		!strings.Contains(post[0].Message, `which namespace "demo" may not use`) {
		t.Errorf("post hooks = %+v, want ping Failed naming the namespace rule", post)
	}
	expectPhase(t, got, corev1alpha1.RestoreFailed)
	if n := requests.Load(); n != 0 {
		t.Errorf("the hook server got %d requests, want none", n)
	}
}

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

// TestCheckPodHookTargetOwner: a Pod executor's owner must name a
// group/version; the error names the field.
func TestCheckPodHookTargetOwner(t *testing.T) {
	rs := newRestoreSession()
	for _, tc := range []struct {
		name    string
		owner   *corev1alpha1.PodOwnerReference
		wantErr string
	}{
		{name: "no owner"},
		{name: "a Deployment", owner: &corev1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
		{name: "bad apiVersion", owner: &corev1alpha1.PodOwnerReference{APIVersion: "apps/v1/x", Kind: "Deployment", Name: "web"},
			wantErr: `spec.executor.pod.owner.apiVersion "apps/v1/x" is not a group/version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPodHookTarget(rs, &corev1alpha1.PodHookExecutorSpec{Selector: "app=web", Owner: tc.owner})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("checkPodHookTarget = %v, want error %q", err, tc.wantErr)
			}
		})
	}
}

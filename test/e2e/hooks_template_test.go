package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// TestHooksGoTemplate: a post-restore hook's body is rendered as a Go
// template over the restore's summary, as KubeStash renders its hook
// templates (the body is KubeStash's Slack-notification example, with
// dict and toJson), and ${NAME} variables are substituted after it.
func TestHooksGoTemplate(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "hooks-tpl-"+ns, "repo")
	w.dumpIntoAppData(t)

	server := newHookServer(t, func(rw http.ResponseWriter, _ *http.Request, _ int) { fmt.Fprintln(rw, "ok") })
	body := `{{$msg := dict "type" "mrkdwn" "text" "ooo"}}` +
		`{{if eq .Status.Phase "Succeeded"}}{{- $msg = dict "type" "mrkdwn" "text" (printf "Restore completed for %s/%s Status: %s." .Namespace .Target.Name .Status.Phase) -}}` +
		`{{else}}{{- $msg = dict "type" "mrkdwn" "text" (printf "Restore failed: %s" .Status.Error) -}}{{end}}` +
		`{"text": {{ toJson $msg }}, "session": "${restoreSession}"}`
	framework.MustCreate(t, "HookTemplate", func() error {
		_, err := restoreClient.CoreV1alpha1().HookTemplates(ns).Create(context.Background(), &corev1alpha1.HookTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "notify"},
			Spec: corev1alpha1.HookTemplateSpec{
				Action: &corev1alpha1.HookAction{HTTPPost: &corev1alpha1.HTTPPostAction{
					Host: "127.0.0.1", Port: intstr.FromInt32(server.port(t)), Path: "/notify",
					HTTPHeaders: []corev1.HTTPHeader{{Name: "Content-Type", Value: "application/json"}},
					Body:        body,
				}},
				Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorOperator},
			},
		}, metav1.CreateOptions{})
		return err
	})
	startController(t, allowLocalHookAddresses)

	rs := w.restoreSession("tpl-hooks", "snap", appDataTarget(), "")
	rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PostRestore: []corev1alpha1.HookInfo{hook("notify", "notify")}}
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)

	calls := server.received("/notify")
	if len(calls) != 1 {
		t.Fatalf("notify called %d times, want once (post hooks: %+v)", len(calls), got.Status.Hooks)
	}
	target := appDataTarget()
	want := fmt.Sprintf(`{"text": {"text":"Restore completed for %s/%s Status: Succeeded.","type":"mrkdwn"}, "session": "%s"}`, ns, target.Name, rs.Name)
	if calls[0].body != want {
		t.Errorf("hook body =\n%s\nwant\n%s", calls[0].body, want)
	}
}

package hookaction

import (
	"strings"
	"testing"

	"github.com/restore-controller/restore/pkg/apis/common"
)

func TestRender(t *testing.T) {
	data := Summary{
		Name: "restore-1", Namespace: "demo",
		Invoker: &common.TypedObjectReference{APIGroup: "core.kubestash.com", Kind: "RestoreSession", Namespace: "demo", Name: "restore-1"},
		Target:  &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Namespace: "demo", Name: "db"},
		Status:  TargetStatus{Phase: "Failed", Duration: "1m2s", Error: `component "pod-0": "quoted"`},
	}
	cases := []struct {
		name, text, want, wantErr string
	}{
		{name: "no template", text: "echo ${X} {not a template}", want: "echo ${X} {not a template}"},
		{name: "phase", text: "echo {{ .Status.Phase }}", want: "echo Failed"},
		{name: "names", text: "{{ .Namespace }}/{{ .Name }} {{ .Target.Kind }}/{{ .Target.Name }} {{ .Invoker.Kind }}", want: "demo/restore-1 StatefulSet/db RestoreSession"},
		{
			// KubeStash's slack-notification hook body (docs/guides/hooks).
			name: "KubeStash docs' Slack body",
			text: `{{$msg := dict "type" "mrkdwn" "text" "ooo"}}{{if eq .Status.Phase "Succeeded"}}{{- $msg = dict "type" "mrkdwn" "text" (printf "Restore completed for %s/%s Status: %s." .Namespace .Target.Name .Status.Phase) -}}{{else}}{{- $msg = dict "type" "mrkdwn" "text" (printf "Restore failed for %s/%s Status: %s." .Namespace .Target.Name .Status.Error) -}}{{end}}{"text": {{ toJson $msg }}}`,
			want: `{"text": {"text":"Restore failed for demo/db Status: component \"pod-0\": \"quoted\".","type":"mrkdwn"}}`,
		},
		{name: "unknown field", text: "{{ .Status.Nope }}", wantErr: "can't evaluate field Nope"},
		{name: "parse error", text: "{{ .Status.Phase ", wantErr: "unclosed action"},
		{name: "odd dict", text: `{{ dict "a" }}`, wantErr: "dict needs key and value pairs"},
		{name: "missing map key", text: `{{ (dict "a" 1).b }}`, wantErr: "map has no entry for key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.text, data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Render = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Render = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

package hookaction

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// Summary is the data a hook action's Go templates are rendered with. It
// has the shape of KubeStash's Summary, which KubeStash renders hook
// templates with, so that a HookTemplate written for KubeStash
// ({{ .Status.Phase }}, {{ .Target.Name }}, …) renders the same here.
type Summary struct {
	// Name and Namespace of the RestoreSession.
	Name      string
	Namespace string
	// Invoker is the RestoreSession itself.
	Invoker *common.TypedObjectReference
	// Target is the restore target (nil without one).
	Target *common.TypedObjectReference
	Status TargetStatus
}

// TargetStatus is the restore's outcome as a hook sees it: Phase is
// Failed with Error set once anything failed, otherwise Succeeded (so a
// pre-restore hook, run before anything failed, sees Succeeded, as in
// KubeStash); Duration is the restore's duration when known.
type TargetStatus struct {
	Phase    string
	Duration string
	Error    string
}

// templateFuncs are the functions a template may call besides Go's
// built-ins: the two of Sprig's that KubeStash's documented hooks use.
var templateFuncs = template.FuncMap{
	// dict "k1" v1 "k2" v2 … builds a map (Sprig's dict).
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict needs key and value pairs, got %d arguments", len(kv))
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	// toJson encodes a value as JSON (Sprig's toJson).
	"toJson": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// Render renders text as a Go text/template over data. Text without "{{"
// is returned as it is, so plain strings are never parsed. A missing map
// key is an error, as is a field the Summary does not have; the error
// names the template's problem, and the caller adds the field.
func Render(text string, data Summary) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New("hook").Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

package invocation

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"namespace": "demo", "component": "pod-0", "empty": ""}
	tests := []struct {
		in, want string
		errPart  string
	}{
		{in: "plain", want: "plain"},
		{in: "--ns=${namespace}", want: "--ns=demo"},
		{in: "${namespace}/${component}", want: "demo/pod-0"},
		{in: "${empty}", want: ""},
		{in: "${empty:=fallback}", want: "", errPart: ""},
		{in: "${missing:=fallback}", want: "fallback"},
		{in: "${missing:=}", want: ""},
		{in: "${missing:=a:=b}", want: "a:=b"},
		{in: "$${namespace}", want: "${namespace}"},
		{in: "cost: $$5", want: "cost: $5"},
		{in: "$namespace", want: "$namespace"},
		{in: "trailing $", want: "trailing $"},
		{in: "${missing}", errPart: "variable ${missing} is not defined"},
		{in: "--x=${namespace", errPart: "unterminated"},
		{in: "${}", errPart: "empty variable reference"},
		{in: "${:=x}", errPart: "empty variable reference"},
	}
	for _, tt := range tests {
		got, err := Substitute(tt.in, vars)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("Substitute(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.errPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSubstituteAll(t *testing.T) {
	if got, err := SubstituteAll(nil, nil, "x"); got != nil || err != nil {
		t.Errorf("SubstituteAll(nil) = %v, %v", got, err)
	}
	_, err := SubstituteAll([]string{"ok", "${nope}"}, map[string]string{}, `Function "f" args`)
	if err == nil || !strings.Contains(err.Error(), `Function "f" args[1]`) || !strings.Contains(err.Error(), "${nope}") {
		t.Errorf("error %v does not name the element and the variable", err)
	}
}

func TestAddLiteralVariables(t *testing.T) {
	vars := map[string]string{"kept": "1", "replaced": "old"}
	AddLiteralVariables(vars, []corev1.EnvVar{
		{Name: "replaced", Value: "new"},
		{Name: "literal", Value: "x"},
		{Name: "fromSecret", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
	})
	want := map[string]string{"kept": "1", "replaced": "new", "literal": "x"}
	if !maps.Equal(vars, want) {
		t.Errorf("vars = %v, want %v", vars, want)
	}
}

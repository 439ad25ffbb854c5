package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestBoundedName(t *testing.T) {
	long := strings.Repeat("abcdefghij", 8) // 80
	tests := []struct {
		in        string
		limit     int
		want      string // "" : only check validity and length
		unchanged bool
	}{
		{in: "restore-sample-restore-pod-0", limit: 63, want: "restore-sample-restore-pod-0", unchanged: true},
		{in: strings.Repeat("a", 63), limit: 63, unchanged: true},
		{in: strings.Repeat("a", 64), limit: 63},
		{in: long, limit: 63},
		{in: "a.b", limit: 63},
		{in: "Upper-Case", limit: 63},
		{in: "-leading-dash", limit: 63},
		{in: "...", limit: 63},
		{in: "", limit: 63},
		{in: long, limit: 20},
	}
	for _, tt := range tests {
		got := boundedName(tt.in, tt.limit)
		if tt.unchanged && got != tt.in {
			t.Errorf("boundedName(%q) = %q, want it unchanged", tt.in, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("boundedName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > tt.limit {
			t.Errorf("boundedName(%q, %d) = %q: %d characters", tt.in, tt.limit, got, len(got))
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("boundedName(%q) = %q: %v", tt.in, got, errs)
		}
		if again := boundedName(tt.in, tt.limit); again != got {
			t.Errorf("boundedName(%q) not deterministic: %q, %q", tt.in, got, again)
		}
	}

	// Distinct inputs stay distinct, even when sanitising or truncation
	// makes them look alike.
	distinct := [][2]string{
		{"a.b", "a-b"},
		{long + "-pod-0", long + "-pod-1"},
		{long, long + "x"},
		{"Upper", "upper-"},
	}
	for _, pair := range distinct {
		if a, b := boundedName(pair[0], 63), boundedName(pair[1], 63); a == b {
			t.Errorf("boundedName(%q) == boundedName(%q) == %q", pair[0], pair[1], a)
		}
	}
}

func TestJobNamesOfLongRestoreSessions(t *testing.T) {
	rs := func(name string) *corev1alpha1.RestoreSession {
		return &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}}
	}
	prefix := strings.Repeat("r", 70)
	names := map[string]string{}
	for _, rsName := range []string{prefix + "-a", prefix + "-b", "short"} {
		for _, comp := range []string{"pod-0", "pod-1", "pod-10", "dump"} {
			n := jobName(rs(rsName), comp)
			if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
				t.Errorf("jobName(%s, %s) = %q: %v", rsName, comp, n, errs)
			}
			if other, dup := names[n]; dup {
				t.Errorf("jobName collision %q: %s and %s/%s", n, other, rsName, comp)
			}
			names[n] = rsName + "/" + comp
		}
	}
	if got := jobName(rs("short"), "pod-0"); got != "restore-short-pod-0" {
		t.Errorf("short name changed: %q", got)
	}
	if v := labelValue(prefix); len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("labelValue(%q) = %q is not a label value", prefix, v)
	}
}

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
		got, err := substitute(tt.in, vars)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("substitute(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.errPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSubstituteAll(t *testing.T) {
	if got, err := substituteAll(nil, nil, "x"); got != nil || err != nil {
		t.Errorf("substituteAll(nil) = %v, %v", got, err)
	}
	_, err := substituteAll([]string{"ok", "${nope}"}, map[string]string{}, `Function "f" args`)
	if err == nil || !strings.Contains(err.Error(), `Function "f" args[1]`) || !strings.Contains(err.Error(), "${nope}") {
		t.Errorf("error %v does not name the element and the variable", err)
	}
}

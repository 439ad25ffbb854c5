package names

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
		got := Bounded(tt.in, tt.limit)
		if tt.unchanged && got != tt.in {
			t.Errorf("Bounded(%q) = %q, want it unchanged", tt.in, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("Bounded(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > tt.limit {
			t.Errorf("Bounded(%q, %d) = %q: %d characters", tt.in, tt.limit, got, len(got))
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("Bounded(%q) = %q: %v", tt.in, got, errs)
		}
		if again := Bounded(tt.in, tt.limit); again != got {
			t.Errorf("Bounded(%q) not deterministic: %q, %q", tt.in, got, again)
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
		if a, b := Bounded(pair[0], 63), Bounded(pair[1], 63); a == b {
			t.Errorf("Bounded(%q) == Bounded(%q) == %q", pair[0], pair[1], a)
		}
	}
}

func TestNamesOfLongRestoreSessions(t *testing.T) {
	rs := func(name string) *corev1alpha1.RestoreSession {
		return &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "demo"}}
	}
	prefix := strings.Repeat("r", 70)
	names := map[string]string{}
	for _, rsName := range []string{prefix + "-a", prefix + "-b", "short"} {
		for _, comp := range []string{"pod-0", "pod-1", "pod-10", "dump"} {
			n := RestoreJob(rs(rsName), comp)
			if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
				t.Errorf("RestoreJob(%s, %s) = %q: %v", rsName, comp, n, errs)
			}
			if other, dup := names[n]; dup {
				t.Errorf("jobName collision %q: %s and %s/%s", n, other, rsName, comp)
			}
			names[n] = rsName + "/" + comp
		}
	}
	if got := RestoreJob(rs("short"), "pod-0"); got != "restore-short-pod-0" {
		t.Errorf("short name changed: %q", got)
	}
	if v := LabelValue(prefix); len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("LabelValue(%q) = %q is not a label value", prefix, v)
	}
}

// TestNames pins the names of the objects the controller creates: a
// changed name would make a restarted controller miss what it created.
// Long inputs still give valid, distinct names.
func TestNames(t *testing.T) {
	short := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "sample-restore", Namespace: "demo"}}
	long := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("r", 70), Namespace: strings.Repeat("n", 63)}}
	for _, tc := range []struct {
		what        string
		short       string
		want        string
		long, long2 string // two long inputs that must stay distinct
	}{
		{"RestoreJob", RestoreJob(short, "pod-0"), "restore-sample-restore-pod-0", RestoreJob(long, "pod-0"), RestoreJob(long, "pod-1")},
		{"HookJob", HookJob(short, "pre", "quiesce", 1), "sample-restore-prehook-quiesce-1", HookJob(long, "pre", "quiesce", 1), HookJob(long, "pre", "quiesce", 2)},
		{"ServiceAccount", ServiceAccount(short), "restore-executor-sample-restore", ServiceAccount(long), ServiceAccount(short)},
		{"ForeignRole", ForeignRole(short), "restore-executor-demo-sample-restore", ForeignRole(long), ForeignRole(short)},
		{"Container", Container("logical-backup-restore", 0), "logical-backup-restore-0", Container(strings.Repeat("t", 70), 0), Container(strings.Repeat("t", 70), 1)},
	} {
		if tc.short != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.short, tc.want)
		}
		for _, n := range []string{tc.long, tc.long2} {
			if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
				t.Errorf("%s = %q: %v", tc.what, n, errs)
			}
		}
		if tc.long == tc.long2 {
			t.Errorf("%s: distinct inputs share the name %q", tc.what, tc.long)
		}
	}
}

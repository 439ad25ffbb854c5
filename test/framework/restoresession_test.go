package framework

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
)

func restoreSessionIn(phase corev1alpha1.RestorePhase) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		TypeMeta:   metav1.TypeMeta{APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: "RestoreSession"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "restore"},
		Status: corev1alpha1.RestoreSessionStatus{
			Phase:      phase,
			Conditions: []metav1.Condition{{Type: corev1alpha1.TypeValidationPassed, Status: metav1.ConditionTrue, Message: "valid"}},
			Components: map[string]corev1alpha1.ComponentRestoreStatus{
				"pod-1": {Phase: corev1alpha1.RestoreFailed, Error: "disk full"},
				"pod-0": {Phase: corev1alpha1.RestoreSucceeded, Duration: "3s"},
			},
		},
	}
}

// TestWaitForPhase: the wanted phase returns the RestoreSession; another
// phase that ends a restore fails at once; Invalid, which a RestoreSession
// can leave, is waited through until the timeout.
func TestWaitForPhase(t *testing.T) {
	for _, tc := range []struct {
		name       string
		has, want  corev1alpha1.RestorePhase
		wantFailed string // fragment of the failure; "" for none
		atOnce     bool
	}{
		{name: "reached", has: corev1alpha1.RestoreSucceeded, want: corev1alpha1.RestoreSucceeded},
		{name: "ended otherwise", has: corev1alpha1.RestoreSucceeded, want: corev1alpha1.RestoreFailed, wantFailed: "ended Succeeded", atOnce: true},
		{name: "still invalid", has: corev1alpha1.RestoreInvalid, want: corev1alpha1.RestoreSucceeded, wantFailed: "phase=Invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(restoreSessionIn(tc.has))
			const timeout = 500 * time.Millisecond
			start := time.Now()
			var got *corev1alpha1.RestoreSession
			r := run(t, func(tb testing.TB) { got = WaitForPhase(tb, client, "demo", "restore", tc.want, timeout) })
			took := time.Since(start)
			if tc.wantFailed == "" {
				if r.fatal || got == nil || got.Status.Phase != tc.want {
					t.Fatalf("failed %q, got %v; want the RestoreSession in %s", r.errors, got, tc.want)
				}
				return
			}
			if !r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], tc.wantFailed) || !strings.Contains(r.errors[0], "disk full") {
				t.Fatalf("errors %q, want one fatal failure with %q and the status", r.errors, tc.wantFailed)
			}
			if tc.atOnce && took >= timeout {
				t.Errorf("failed after %s, want at once", took)
			}
			if !tc.atOnce && took < timeout {
				t.Errorf("failed after %s, before the %s timeout", took, timeout)
			}
		})
	}
}

func TestDescribeStatusListsComponentsByName(t *testing.T) {
	got := DescribeStatus(restoreSessionIn(corev1alpha1.RestoreFailed))
	want := `phase=Failed progress="" ValidationPassed=True(valid) ` +
		`pod-0:{phase=Succeeded duration="3s" error=""} pod-1:{phase=Failed duration="" error="disk full"}`
	if got != want {
		t.Errorf("DescribeStatus =\n%s\nwant\n%s", got, want)
	}
}

func TestExpectConditionMessage(t *testing.T) {
	rs := restoreSessionIn(corev1alpha1.RestoreInvalid)
	rs.Status.Conditions[0].Message = "spec.dataSource.snapshot: Not found: no-such-snapshot"
	for _, tc := range []struct {
		name      string
		condType  string
		fragments []string
		want      string // fragment of the one expected failure; "" for none
	}{
		{name: "all fragments", condType: corev1alpha1.TypeValidationPassed, fragments: []string{"spec.dataSource.snapshot", "no-such-snapshot"}},
		{name: "a fragment missing", condType: corev1alpha1.TypeValidationPassed, fragments: []string{"spec.dataSource.snapshot", "forbidden"}, want: `lacks "forbidden"`},
		{name: "no such condition", condType: corev1alpha1.TypeMetricsPushed, fragments: []string{"x"}, want: "has no condition MetricsPushed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, func(tb testing.TB) { ExpectConditionMessage(tb, rs, tc.condType, tc.fragments...) })
			switch {
			case tc.want == "" && len(r.errors) != 0:
				t.Errorf("unexpected failures %q", r.errors)
			case tc.want != "" && (len(r.errors) != 1 || !strings.Contains(r.errors[0], tc.want)):
				t.Errorf("errors %q, want one with %q", r.errors, tc.want)
			}
		})
	}
}

package framework

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
)

// WaitForPhase polls the RestoreSession ns/name until it is in phase and
// returns it as last read. The test fails at the timeout, or at once when
// the RestoreSession ends in another phase, with its status as
// DescribeStatus shows it. Only Succeeded and Failed end a restore:
// Invalid does not, since a RestoreSession proceeds once what it names
// appears or is allowed.
func WaitForPhase(t testing.TB, client versioned.Interface, ns, name string, phase corev1alpha1.RestorePhase, timeout time.Duration) *corev1alpha1.RestoreSession {
	t.Helper()
	var rs *corev1alpha1.RestoreSession
	Poll(t, timeout, fmt.Sprintf("RestoreSession %s/%s to be %s", ns, name, phase), func(ctx context.Context) (bool, string, error) {
		got, err := client.CoreV1alpha1().RestoreSessions(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		rs = got
		seen := DescribeStatus(got)
		switch p := got.Status.Phase; {
		case p == phase:
			return true, seen, nil
		case p == corev1alpha1.RestoreSucceeded || p == corev1alpha1.RestoreFailed:
			return false, seen, fmt.Errorf("ended %s: %s", p, seen)
		}
		return false, seen, nil
	})
	return rs
}

// DescribeStatus summarises a RestoreSession's status on one line, for
// failure messages: phase and progress, each condition with its status
// and message, and each component (by name) as DescribeComponent shows it.
func DescribeStatus(rs *corev1alpha1.RestoreSession) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s progress=%q", rs.Status.Phase, rs.Status.Progress)
	for _, cond := range rs.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s(%s)", cond.Type, cond.Status, cond.Message)
	}
	for _, name := range slices.Sorted(maps.Keys(rs.Status.Components)) {
		fmt.Fprintf(&b, " %s:{%s}", name, DescribeComponent(rs.Status.Components[name]))
	}
	return b.String()
}

// DescribeComponent summarises one component's status: phase, duration,
// error and, once reported, progress in bytes and files.
func DescribeComponent(s corev1alpha1.ComponentRestoreStatus) string {
	d := fmt.Sprintf("phase=%s duration=%q error=%q", s.Phase, s.Duration, s.Error)
	if p := s.Progress; p != nil {
		d += fmt.Sprintf(" progress=%d/%d bytes %d/%d files %d%%", p.RestoredBytes, p.TotalBytes, p.RestoredFiles, p.TotalFiles, p.Percentage)
	}
	return d
}

// ExpectConditionMessage fails the test unless the RestoreSession has a
// condition of condType whose message holds every fragment.
func ExpectConditionMessage(t testing.TB, rs *corev1alpha1.RestoreSession, condType string, fragments ...string) {
	t.Helper()
	cond := apimeta.FindStatusCondition(rs.Status.Conditions, condType)
	if cond == nil {
		t.Errorf("RestoreSession %s has no condition %s: %s", rs.Name, condType, DescribeStatus(rs))
		return
	}
	for _, f := range fragments {
		if !strings.Contains(cond.Message, f) {
			t.Errorf("RestoreSession %s condition %s message %q lacks %q", rs.Name, condType, cond.Message, f)
		}
	}
}

package controller

import (
	"testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestPolicyMatches(t *testing.T) {
	for _, tc := range []struct {
		policy    corev1alpha1.HookExecutionPolicy
		succeeded bool
		want      bool
	}{
		{"", true, true}, {"", false, true},
		{corev1alpha1.ExecuteAlways, false, true},
		{corev1alpha1.ExecuteOnSuccess, true, true}, {corev1alpha1.ExecuteOnSuccess, false, false},
		{corev1alpha1.ExecuteOnFailure, true, false}, {corev1alpha1.ExecuteOnFailure, false, true},
	} {
		if got := policyMatches(tc.policy, tc.succeeded); got != tc.want {
			t.Errorf("policyMatches(%q, %t) = %t, want %t", tc.policy, tc.succeeded, got, tc.want)
		}
	}
}

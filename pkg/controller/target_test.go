package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestTargetGroup(t *testing.T) {
	tests := []struct {
		group, kind string
		want        string
	}{
		{"", kindStatefulSet, "apps"},
		{"", kindDeployment, "apps"},
		{"", kindDaemonSet, "apps"},
		{"apps", kindStatefulSet, "apps"},
		{"", kindPVC, ""},
		{"extensions", kindDaemonSet, "extensions"},
		{"", "ReplicaSet", ""},
	}
	for _, tt := range tests {
		got := targetGroup(&common.TypedObjectReference{APIGroup: tt.group, Kind: tt.kind, Name: "x"})
		if got != tt.want {
			t.Errorf("targetGroup(%q, %q) = %q, want %q", tt.group, tt.kind, got, tt.want)
		}
	}
}

// A workload target written without its apiGroup, as KubeStash's docs do,
// is the same target as with apps: validation passes, it is found, and a
// BackupConfiguration of it spelled either way is the same target.
func TestWorkloadTargetWithoutGroup(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Target.APIGroup = "" })
	f.start()
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
	expectCondition(t, rs, corev1alpha1.TypeRestoreTargetFound, metav1.ConditionTrue, "")

	withoutGroup := &common.TypedObjectReference{Kind: kindStatefulSet, Name: testSTS}
	if targetKey(withoutGroup, testNS) != targetKey(stsTarget(testSTS), testNS) {
		t.Errorf("targetKey without group %q differs from targetKey with apps %q", targetKey(withoutGroup, testNS), targetKey(stsTarget(testSTS), testNS))
	}
}

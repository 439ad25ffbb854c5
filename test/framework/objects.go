package framework

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/test/cluster"
)

// MustCreate fails the test if create, which creates what, fails.
func MustCreate(t testing.TB, what string, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatalf("creating %s: %v", what, err)
	}
}

// JobCondition returns the job's condition of type ct if it is true, else
// nil.
func JobCondition(job *batchv1.Job, ct batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == ct && job.Status.Conditions[i].Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// ClaimDir is the host directory of the volume bound to the PVC ns/claim
// on the local cluster c; the test fails if the claim is not bound.
func ClaimDir(t testing.TB, c *cluster.Cluster, ns, claim string) string {
	t.Helper()
	pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Spec.VolumeName == "" {
		t.Fatalf("PVC %s/%s is not bound", ns, claim)
	}
	return c.VolumeDir(pvc.Spec.VolumeName)
}

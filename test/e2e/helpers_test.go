package e2e

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/framework"
)

// newNamespace, poll and logsOnFailure are framework's helpers on the
// package's cluster c.

func newNamespace(t *testing.T) string {
	t.Helper()
	return framework.NewNamespace(t, c.Client(), "e2e-")
}

func poll(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string, error)) {
	t.Helper()
	framework.Poll(t, timeout, what, cond)
}

func logsOnFailure(t *testing.T, ns string) { framework.LogsOnFailure(t, c, ns) }

// mustCreate is framework.MustCreate for callers whose API errors name the
// object.
func mustCreate(t *testing.T, create func() error) {
	t.Helper()
	framework.MustCreate(t, "object", create)
}

func workloadJob(name string, backoff int32, policy corev1.RestartPolicy, args ...string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoff),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy:                 policy,
				TerminationGracePeriodSeconds: ptr.To[int64](5),
				Containers: []corev1.Container{{
					Name: "work", Image: workloadImage, Command: []string{"/testworkload"}, Args: args,
				}},
			}},
		},
	}
}

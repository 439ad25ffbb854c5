package framework

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/restore-controller/restore/test/cluster"
)

// NewNamespace creates a namespace named prefix plus a random suffix for
// one test and deletes it when the test ends.
func NewNamespace(t testing.TB, kc kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := kc.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kc.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// Poll calls cond every 100ms until it returns true, failing the test with
// cond's error or, at the timeout, with what it last reported seeing.
func Poll(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (ok bool, seen string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, seen, err := cond(ctx)
		if seen != "" {
			last = seen
		}
		return ok, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
	}
}

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

// LogsOnFailure logs the container logs of the namespace's pods on the
// local cluster c when the test has failed.
func LogsOnFailure(t testing.TB, c *cluster.Cluster, ns string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		pods, err := c.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, p := range pods.Items {
			for _, ctr := range p.Spec.Containers {
				t.Logf("pod %s container %s phase %s log (%s):\n%s", p.Name, ctr.Name, p.Status.Phase,
					c.ContainerLogPath(ns, p.Name, ctr.Name), c.ContainerLog(ns, p.Name, ctr.Name))
			}
		}
	})
}

package framework

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/test/cluster"
)

// NewNamespace creates a namespace on the local cluster c for one test,
// named prefix plus a random suffix. When the test ends it logs the
// container logs of the namespace's pods if the test failed
// (LogsOnFailure), then deletes the namespace.
func NewNamespace(t testing.TB, c *cluster.Cluster, prefix string) string {
	t.Helper()
	kc := c.Client()
	ns, err := kc.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kc.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	// Cleanups run last in, first out: the logs are read before the
	// namespace goes.
	LogsOnFailure(t, c, ns.Name)
	return ns.Name
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

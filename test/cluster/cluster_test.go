package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/restore-controller/restore/test/cluster"
)

// TestStopLeavesNothing starts a cluster with a running container, stops
// it, and checks that the container process and the cluster directory are
// gone and no mount was left on the host.
func TestStopLeavesNothing(t *testing.T) {
	if _, err := cluster.BinDir(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := cluster.Start(ctx, cluster.Options{ImageBinaries: map[string]string{"example.com/sleep:1": "/bin/sleep"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster started in %s", c.StartupTime())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Keep()
			_ = c.Stop()
		}
	})
	pod, err := c.Client().CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "sleep", Image: "example.com/sleep:1", Args: []string{"600"},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/cluster-test-data"}},
		}}, Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.Client().CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
			return false, nil
		}
		id, ok := strings.CutPrefix(p.Status.ContainerStatuses[0].ContainerID, "process://")
		if !ok {
			return false, fmt.Errorf("container ID %q", p.Status.ContainerStatuses[0].ContainerID)
		}
		pid, err = strconv.Atoi(id)
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("waiting for the container to run: %v", err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("container process %d not alive: %v", pid, err)
	}
	dir := c.Dir()
	hostMounts := mountsBelow(t, dir)
	if len(hostMounts) != 0 {
		t.Fatalf("mounts visible on the host below %s: %v", dir, hostMounts)
	}

	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("container process %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists (%v)", dir, err)
	}
	if _, err := os.Stat("/cluster-test-data"); !os.IsNotExist(err) {
		t.Errorf("the pod's mount path was created on the host")
	}
}

func mountsBelow(t *testing.T, dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

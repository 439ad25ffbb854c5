package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/framework"
)

// TestJobWritesToPVC: a Job's pod runs the mapped binary, which writes into
// a PVC mounted at a path that does not exist on the host; the real Job
// controller sees the pod succeed, and the bytes land in the PV's host
// directory.
func TestJobWritesToPVC(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()

	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Mi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The mount path is unique so that the test also proves it is never
	// created on the host.
	mountPath := fmt.Sprintf("/e2e-data-%d", time.Now().UnixNano())
	payload := "restored bytes " + ns
	job := workloadJob("writer", 0, corev1.RestartPolicyNever, "write", "$(TARGET)/out.txt", payload)
	spec := &job.Spec.Template.Spec
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: mountPath}}
	spec.Containers[0].Env = []corev1.EnvVar{{Name: "TARGET", Value: mountPath}}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	framework.Poll(t, 60*time.Second, "job to complete", func(ctx context.Context) (bool, string, error) {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if framework.JobCondition(j, batchv1.JobFailed) != nil {
			return false, "", fmt.Errorf("job failed: %+v", j.Status)
		}
		return framework.JobCondition(j, batchv1.JobComplete) != nil, fmt.Sprintf("%+v", j.Status), nil
	})

	bound, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, pvc.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bound.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim phase %s, want Bound", bound.Status.Phase)
	}
	got, err := os.ReadFile(filepath.Join(c.VolumeDir(bound.Spec.VolumeName), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != payload {
		t.Fatalf("PV holds %q, want %q", got, payload)
	}
	if _, err := os.Stat(mountPath); !os.IsNotExist(err) {
		t.Fatalf("mount path %s exists on the host (err %v): the pod's mounts leaked", mountPath, err)
	}
}

// TestJobBackoffLimit: a container that exits non-zero makes the Job
// controller retry it backoffLimit times, then fail the Job with
// BackoffLimitExceeded.
func TestJobBackoffLimit(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	job := workloadJob("failer", 1, corev1.RestartPolicyNever, "exit", "7")
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var final *batchv1.Job
	framework.Poll(t, 90*time.Second, "job to fail", func(ctx context.Context) (bool, string, error) {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		final = j
		return framework.JobCondition(j, batchv1.JobFailed) != nil, fmt.Sprintf("%+v", j.Status), nil
	})
	cond := framework.JobCondition(final, batchv1.JobFailed)
	if cond.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("Failed reason %q, want %q", cond.Reason, batchv1.JobReasonBackoffLimitExceeded)
	}
	if final.Status.Failed != 2 {
		t.Fatalf("status.failed = %d, want 2 (first try + backoffLimit 1 retry)", final.Status.Failed)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodFailed {
			continue
		}
		st := p.Status.ContainerStatuses
		if len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 7 {
			t.Errorf("pod %s container status %+v, want terminated with exit code 7", p.Name, st)
		}
		if log := c.ContainerLog(ns, p.Name, "work"); !strings.Contains(log, "exiting with 7") {
			t.Errorf("pod %s log %q lacks the container's output", p.Name, log)
		}
	}
}

// TestPodDeletionSendsSIGTERM: deleting a running pod stops its process
// gracefully and the pod disappears.
func TestPodDeletionSendsSIGTERM(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](20),
			Containers:                    []corev1.Container{{Name: "main", Image: workloadImage, Args: []string{"sleep"}}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 30*time.Second, "pod running and ready", func(ctx context.Context) (bool, string, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		ready := len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
		return p.Status.Phase == corev1.PodRunning && ready && strings.Contains(c.ContainerLog(ns, pod.Name, "main"), "sleeping"),
			fmt.Sprintf("%+v", p.Status), nil
	})
	start := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 30*time.Second, "pod to disappear", func(ctx context.Context) (bool, string, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("%+v", p.Status), nil
	})
	if !strings.Contains(c.ContainerLog(ns, pod.Name, "main"), "terminated") {
		t.Fatalf("container did not see SIGTERM; log: %q", c.ContainerLog(ns, pod.Name, "main"))
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("graceful stop took %s: the process did not stop on SIGTERM", d)
	}
}

// TestPodDeletionKillsAfterGracePeriod: a process that ignores SIGTERM is
// killed once terminationGracePeriodSeconds has passed.
func TestPodDeletionKillsAfterGracePeriod(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hanger"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](2),
			Containers:                    []corev1.Container{{Name: "main", Image: workloadImage, Args: []string{"hang"}}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 30*time.Second, "container running", func(ctx context.Context) (bool, string, error) {
		log := c.ContainerLog(ns, pod.Name, "main")
		return strings.Contains(log, "hanging"), log, nil
	})
	start := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 30*time.Second, "pod to disappear", func(ctx context.Context) (bool, string, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, fmt.Sprint(err), nil
	})
	took := time.Since(start)
	if !strings.Contains(c.ContainerLog(ns, pod.Name, "main"), "ignoring SIGTERM") {
		t.Errorf("the container never got SIGTERM; log: %q", c.ContainerLog(ns, pod.Name, "main"))
	}
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("pod went away after %s, want SIGKILL after the 2s grace period", took)
	}
}

// TestJobOnFailureRestarts: with restartPolicy OnFailure the kubelet
// restarts the failing container in place; the Job controller counts the
// restarts against backoffLimit and fails the Job.
func TestJobOnFailureRestarts(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	job := workloadJob("restarter", 2, corev1.RestartPolicyOnFailure, "exit", "1")
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var maxRestarts int32
	framework.Poll(t, 60*time.Second, "job to fail", func(ctx context.Context) (bool, string, error) {
		if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for _, p := range pods.Items {
				for _, st := range p.Status.ContainerStatuses {
					maxRestarts = max(maxRestarts, st.RestartCount)
				}
			}
		}
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return framework.JobCondition(j, batchv1.JobFailed) != nil, fmt.Sprintf("%+v", j.Status), nil
	})
	if maxRestarts < 1 {
		t.Fatalf("no container restart was observed before the Job failed")
	}
	j, err := cs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cond := framework.JobCondition(j, batchv1.JobFailed); cond.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("Failed reason %q, want BackoffLimitExceeded", cond.Reason)
	}
}

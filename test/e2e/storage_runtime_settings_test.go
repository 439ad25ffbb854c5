package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// TestStorageRuntimeSettingsReachTheRestorePod: a BackupStorage's
// spec.runtimeSettings (pod labels, node selector, tolerations; container
// env and resources) end up on the pod of every restore Job that reads
// the storage, under the RestoreSession's own spec.addon.jobTemplate and
// containerRuntimeSettings: where both set something, the RestoreSession's
// value is the one the pod gets.
func TestStorageRuntimeSettingsReachTheRestorePod(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	storage := localBackupStorage(t)
	storageResources := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("48Mi")}}
	storageToleration := corev1.Toleration{Key: "e2e.restore.kubestash.com/backup-nodes", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	storage.spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{
		Pod: &corev1alpha1.PodRuntimeSettings{
			PodLabels:    map[string]string{"from-storage": "yes", "set-by": "storage"},
			NodeSelector: map[string]string{"e2e.restore.kubestash.com/zone": "storage"},
			Tolerations:  []corev1.Toleration{storageToleration},
		},
		Container: &corev1alpha1.ContainerRuntimeSettings{
			Resources: &storageResources,
			Env:       []corev1.EnvVar{{Name: "FROM_STORAGE", Value: "yes"}, {Name: "SET_BY", Value: "storage"}},
		},
	}
	w := newRestoreWorldOn(t, ns, "settings-"+ns, "repo", storage)
	w.dumpIntoAppData(t)
	startController(t)

	rs := w.restoreSession("settings", "snap", appDataTarget(), "")
	rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{
		Metadata: corev1alpha1.PartialObjectMeta{Labels: map[string]string{"set-by": "session"}},
		Spec:     corev1alpha1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/os": "linux"}},
	}
	rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{
		Env: []corev1.EnvVar{{Name: "SET_BY", Value: "session"}},
	}
	createRestore(t, rs)
	framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, 2*time.Minute)

	pod := restorePod(t, ns, rs.Name)
	for k, v := range map[string]string{"from-storage": "yes", "set-by": "session"} {
		if pod.Labels[k] != v {
			t.Errorf("pod label %s = %q, want %q (labels %v)", k, pod.Labels[k], v, pod.Labels)
		}
	}
	if want := map[string]string{"kubernetes.io/os": "linux"}; !maps.Equal(pod.Spec.NodeSelector, want) {
		t.Errorf("pod nodeSelector %v, want the RestoreSession's %v", pod.Spec.NodeSelector, want)
	}
	if !hasToleration(pod.Spec.Tolerations, storageToleration) {
		t.Errorf("pod tolerations %+v lack the storage's %+v", pod.Spec.Tolerations, storageToleration)
	}
	ctr := pod.Spec.Containers[0]
	if got := ctr.Resources.Requests[corev1.ResourceMemory]; got.Cmp(storageResources.Requests[corev1.ResourceMemory]) != 0 {
		t.Errorf("container %s resources %+v, want the storage's %+v", ctr.Name, ctr.Resources, storageResources)
	}
	env := effectiveEnv(ctr.Env)
	for k, v := range map[string]string{"FROM_STORAGE": "yes", "SET_BY": "session"} {
		if env[k] != v {
			t.Errorf("container %s env %s = %q, want %q (env %v)", ctr.Name, k, env[k], v, ctr.Env)
		}
	}
}

// restorePod is the one pod of the one restore Job of RestoreSession ns/name.
func restorePod(t *testing.T, ns, name string) corev1.Pod {
	t.Helper()
	jobs := restoreJobs(t, ns, name)
	if len(jobs) != 1 {
		t.Fatalf("%d restore Jobs, want 1", len(jobs))
	}
	pods, err := c.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: fmt.Sprintf("batch.kubernetes.io/job-name=%s", jobs[0].Name),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("Job %s has %d pods, want 1", jobs[0].Name, len(pods.Items))
	}
	return pods.Items[0]
}

// effectiveEnv is the environment a container's process sees: of
// variables listed twice, the later value.
func effectiveEnv(env []corev1.EnvVar) map[string]string {
	out := map[string]string{}
	for _, e := range env {
		out[e.Name] = e.Value
	}
	return out
}

func hasToleration(list []corev1.Toleration, want corev1.Toleration) bool {
	for _, tol := range list {
		if tol.MatchToleration(&want) {
			return true
		}
	}
	return false
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/framework"
)

// runPod creates pod in ns and waits until it has finished.
func runPod(t *testing.T, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	cs := c.Client()
	if _, err := cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var final *corev1.Pod
	framework.Poll(t, 30*time.Second, "pod "+pod.Name+" to finish", func(ctx context.Context) (bool, string, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		final = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, fmt.Sprintf("%+v", p.Status), nil
	})
	return final
}

// TestPodEnvironmentAndVolumes: env (value, $(VAR), secretKeyRef,
// configMapKeyRef, fieldRef, envFrom), $(VAR) in args, workingDir, init
// containers before the main one, and secret, configMap, emptyDir,
// hostPath and projected (token, kube-root-ca.crt, namespace) volumes.
func TestPodEnvironmentAndVolumes(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"password": "s3cret"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data:       map[string]string{"mode": "fast", "level": "3"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from-host"), 0o644); err != nil {
		t.Fatal(err)
	}
	const tokenDir = "/var/run/secrets/tokens"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "envpod", Labels: map[string]string{"tier": "gold"}},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: "default", // required by the serviceAccountToken projection
			InitContainers: []corev1.Container{{
				Name: "init", Image: workloadImage, Args: []string{"write", "/scratch/init.txt", "init-ran"},
				VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
			}},
			Containers: []corev1.Container{{
				Name: "main", Image: workloadImage, WorkingDir: "/scratch",
				Command: []string{"/bin/testworkload", "cat"},
				Args: []string{"init.txt", "/etc/creds/password", "/etc/settings/mode", "/mnt/host/host.txt",
					tokenDir + "/namespace", tokenDir + "/ca.crt", "$(TOKEN_DIR)/token"},
				EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				Env: []corev1.EnvVar{
					{Name: "TOKEN_DIR", Value: tokenDir},
					{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
					{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "mode"}}},
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "TIER", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['tier']"}}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "scratch", MountPath: "/scratch"},
					{Name: "creds", MountPath: "/etc/creds", ReadOnly: true},
					{Name: "settings", MountPath: "/etc/settings"},
					{Name: "host", MountPath: "/mnt/host"},
					{Name: "api", MountPath: tokenDir},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
				{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}},
				{Name: "api", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				}}}},
			},
		},
	}
	final := runPod(t, ns, pod)
	if final.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("pod phase %s, want Succeeded; status %+v", final.Status.Phase, final.Status)
	}
	if st := final.Status.InitContainerStatuses; len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 0 {
		t.Errorf("init container status %+v, want terminated with 0", st)
	}
	out := c.ContainerLog(ns, pod.Name, "main")
	for _, want := range []string{
		"init.txt=init-ran\n",
		"/etc/creds/password=s3cret\n",
		"/etc/settings/mode=fast\n",
		"/mnt/host/host.txt=from-host\n",
		tokenDir + "/namespace=" + ns + "\n",
		tokenDir + "/ca.crt=-----BEGIN CERTIFICATE-----",
		tokenDir + "/token=ey",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("main output lacks %q:\n%s", want, out)
		}
	}

	// The mount points were made inside the pod's mount namespace only.
	for _, p := range []string{"/etc/creds", "/etc/settings", "/mnt/host", tokenDir, "/scratch"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists on the host (%v): mount points leaked", p, err)
		}
	}

	envPod := pod.DeepCopy()
	envPod.Name = "envpod2"
	envPod.Spec.InitContainers = nil
	envPod.Spec.Containers[0].Command = nil
	envPod.Spec.Containers[0].Args = []string{"env"}
	runPod(t, ns, envPod)
	env := c.ContainerLog(ns, envPod.Name, "main")
	for _, want := range []string{"PASSWORD=s3cret", "MODE=fast", "POD=envpod2", "TIER=gold", "CFG_level=3", "CFG_mode=fast",
		"KUBERNETES_SERVICE_HOST=127.0.0.1", "CWD=/scratch"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("environment lacks %q:\n%s", want, env)
		}
	}
}

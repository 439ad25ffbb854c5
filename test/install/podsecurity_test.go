package install

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// restrictedNamespace creates a namespace that enforces Pod Security
// "restricted" and proves the API server enforces it: a privileged pod is
// refused (server dry run).
func restrictedNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := newNamespace(t, prefix)
	kubectl(t, "", "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest")
	out, err := tryKubectl(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: %s}
spec:
  containers:
  - name: app
    image: example.com/app:v1
    securityContext: {privileged: true}
`, ns), "create", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(out, `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("a privileged pod in namespace %s: %v\n%s\nwant it refused by Pod Security", ns, err, out)
	}
	return ns
}

// TestRestoreInRestrictedNamespace: in a namespace that enforces Pod
// Security "restricted", a restore from S3 (served by versitygw) runs its
// Job as the non-root user and restores byte for byte; a restore from a
// local hostPath BackupStorage fails before any Job, saying why.
func TestRestoreInRestrictedNamespace(t *testing.T) {
	t.Parallel()
	install(t)

	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		gw := framework.StartVersitygw(t)
		gw.MakeBucket(ctx, t, "restricted")
		ns := restrictedNamespace(t, "restricted-s3")
		encryptionSecret(t, ns, "encrypt-secret", "restricted-password")
		apply(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: s3-credentials, namespace: %[1]s}
stringData:
  AWS_ACCESS_KEY_ID: %[2]q
  AWS_SECRET_ACCESS_KEY: %[3]q
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: s3-storage, namespace: %[1]s}
spec:
  storage:
    provider: s3
    s3:
      endpoint: http://%[4]s
      bucket: restricted
      secretName: s3-credentials
---
apiVersion: storage.kubestash.com/v1alpha1
kind: Repository
metadata: {name: s3-repo, namespace: %[1]s}
spec:
  storageRef: {name: s3-storage}
  path: /s3-repo
  encryptionSecret: {name: encrypt-secret}
`, ns, gw.Access, gw.Secret, gw.Endpoint))
		dir, want := source(t, 60)
		seedSnapshot(t, ns, "s3-repo", "snap", "", "/kubestash-data", map[string]string{"dump": dir})
		pvc(t, ns, "restore-pvc")
		apply(t, pvcRestore(ns, "from-s3", "workload-addon", "{repository: s3-repo, snapshot: latest}", ""))
		framework.WaitForPhase(t, restoreClient, ns, "from-s3", corev1alpha1.RestoreSucceeded, restoreTimeout)
		framework.ExpectSameTree(t, "the PVC restored from S3 in a restricted namespace", want, framework.ClaimDir(t, c, ns, "restore-pvc"))

		// The Job that ran: its pods were admitted at restricted.
		var job batchv1.Job
		if err := json.Unmarshal([]byte(kubectl(t, "", "get", "job", "-n", ns, "restore-from-s3-dump", "-o", "json")), &job); err != nil {
			t.Fatal(err)
		}
		pod := job.Spec.Template.Spec
		sc := pod.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
			sc.FSGroup == nil || *sc.FSGroup != 65532 || sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("restore Job pod securityContext = %+v, want non-root 65532, fsGroup 65532, RuntimeDefault seccomp", sc)
		}
		for _, ctr := range append(pod.InitContainers, pod.Containers...) {
			csc := ctr.SecurityContext
			if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || csc.Capabilities == nil ||
				len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("restore Job container %s securityContext = %+v, want no privilege escalation and all capabilities dropped", ctr.Name, csc)
			}
		}
		// The Job completes a moment after its executor reported.
		framework.Poll(t, time.Minute, "restore Job "+ns+"/restore-from-s3-dump to complete", func(ctx context.Context) (bool, string, error) {
			out, err := tryKubectl("", "get", "job", "-n", ns, "restore-from-s3-dump", "-o", "jsonpath={.status.succeeded}")
			return err == nil && out == "1", "succeeded=" + out, nil
		})
	})

	t.Run("local hostPath storage", func(t *testing.T) {
		t.Parallel()
		ns := restrictedNamespace(t, "restricted-local")
		encryptionSecret(t, ns, "encrypt-secret", "restricted-local-password")
		storageDir := localRepository(t, ns, "repo", ns, "encrypt-secret")
		dir, _ := source(t, 61)
		seedSnapshot(t, ns, "repo", "snap", storageDir, "/kubestash-data", map[string]string{"dump": dir})
		pvc(t, ns, "restore-pvc")
		apply(t, pvcRestore(ns, "from-local", "workload-addon", "{repository: repo, snapshot: snap}", ""))

		rs := framework.WaitForPhase(t, restoreClient, ns, "from-local", corev1alpha1.RestoreFailed, restoreTimeout)
		want := fmt.Sprintf(`BackupStorage %[1]s/local-storage is a local (hostPath) storage, which Pod Security "restricted" in namespace %[1]q forbids: `+
			`use an s3 BackupStorage (or a local one on a PersistentVolumeClaim) or relax the namespace's pod-security.kubernetes.io/enforce label`, ns)
		var got string
		for _, cond := range rs.Status.Conditions {
			if cond.Type == corev1alpha1.TypeRestoreExecutorEnsured && cond.Status == "False" && cond.Reason == corev1alpha1.ReasonFailedToEnsureRestoreExecutor {
				got = cond.Message
			}
		}
		if got != want {
			t.Errorf("RestoreExecutorEnsured=False message = %q\nwant %q\n(%s)", got, want, framework.DescribeStatus(rs))
		}
		if out := kubectl(t, "", "get", "jobs", "-n", ns, "-o", "name"); strings.TrimSpace(out) != "" {
			t.Errorf("Jobs were created for a restore that cannot run: %s", out)
		}
		// Events are recorded asynchronously.
		framework.Poll(t, time.Minute, "an Event explaining the failure", func(ctx context.Context) (bool, string, error) {
			out, err := tryKubectl("", "get", "events", "-n", ns, "--field-selector", "involvedObject.name=from-local", "-o", "jsonpath={.items[*].message}")
			return err == nil && strings.Contains(out, "local (hostPath) storage"), out, nil
		})
	})
}

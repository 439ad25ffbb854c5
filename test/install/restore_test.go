package install

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/restore-controller/restore/internal/fstree"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// The restores below each get their own namespaces and run in parallel
// against the one installed controller.

// encryptionSecret applies a KubeStash-style encryption Secret.
func encryptionSecret(t *testing.T, ns, name, password string) {
	t.Helper()
	apply(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
stringData:
  RESTIC_PASSWORD: %q
`, name, ns, password))
}

// localRepository applies a local (hostPath) BackupStorage and a
// Repository on it whose password is the Secret keyNS/keyName, and returns
// the storage's host directory.
func localRepository(t *testing.T, ns, repo, keyNS, keyName string) string {
	t.Helper()
	dir := t.TempDir()
	apply(t, fmt.Sprintf(`apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: local-storage, namespace: %[1]s}
spec:
  storage:
    provider: local
    local:
      hostPath: {path: %[2]s, type: Directory}
      mountPath: /kubestash-repo
---
apiVersion: storage.kubestash.com/v1alpha1
kind: Repository
metadata: {name: %[3]s, namespace: %[1]s}
spec:
  storageRef: {name: local-storage}
  path: /%[3]s
  encryptionSecret: {name: %[5]s, namespace: %[4]s}
`, ns, dir, repo, keyNS, keyName))
	return dir
}

// seedSnapshot runs `restore-executor snapshot` as a user would: it
// snapshots each component's directory, recorded as backed up from
// hostPath, into the Repository and creates the Snapshot object.
// storageDir replaces a local BackupStorage's mountPath ("" for S3).
func seedSnapshot(t *testing.T, ns, repo, name, storageDir, hostPath string, sources map[string]string) {
	t.Helper()
	args := []string{"snapshot", "--kubeconfig", c.KubeconfigPath(), "--namespace", ns, "--repository", repo,
		"--name", name, "--scratch-dir", t.TempDir()}
	if storageDir != "" {
		args = append(args, "--local-storage-dir", storageDir)
	}
	for comp, dir := range sources {
		args = append(args, "--component", comp+"="+dir+":"+hostPath)
	}
	framework.RunCommand(t, nil, executorBin, args...)
}

// source writes a tree for seed into a new directory and returns it and
// its scan.
func source(t *testing.T, seed int) (string, fstree.Tree) {
	t.Helper()
	dir := t.TempDir()
	framework.WriteTree(t, dir, seed, map[string]int{"app/config.yaml": 211, "app/db/data.bin": 300 << 10, "app/db/empty": 0, "logs/today.log": 7000})
	return dir, framework.ScanTree(t, dir)
}

// pvc applies a PersistentVolumeClaim of the default StorageClass.
func pvc(t *testing.T, ns, name string) {
	t.Helper()
	apply(t, fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s, namespace: %s}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, name, ns))
}

// pvcWorld creates a namespace named after prefix with what a PVC restore
// needs: the encryption Secret encrypt-secret, the Repository repo on a
// local BackupStorage, its Snapshot snap of one component "dump" backed up
// from /kubestash-data (the tree of seed, which it returns), and the empty
// PVC restore-pvc.
func pvcWorld(t *testing.T, prefix string, seed int) (string, fstree.Tree) {
	t.Helper()
	ns := newNamespace(t, prefix)
	encryptionSecret(t, ns, "encrypt-secret", prefix+"-password")
	storageDir := localRepository(t, ns, "repo", ns, "encrypt-secret")
	dir, want := source(t, seed)
	seedSnapshot(t, ns, "repo", "snap", storageDir, "/kubestash-data", map[string]string{"dump": dir})
	pvc(t, ns, "restore-pvc")
	return ns, want
}

// pvcRestore is a RestoreSession of addon's logical-backup-restore task
// into the PVC restore-pvc; dataSource and params are YAML flow mappings,
// params "" for none.
func pvcRestore(ns, name, addon, dataSource, params string) string {
	task := "    - name: logical-backup-restore\n"
	if params != "" {
		task += "      params: " + params + "\n"
	}
	return fmt.Sprintf(`apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata: {name: %s, namespace: %s}
spec:
  addon:
    name: %s
    tasks:
%s  dataSource: %s
  target: {kind: PersistentVolumeClaim, name: restore-pvc}
---
`, name, ns, addon, task, dataSource)
}

// waitBound waits until the PVC is bound and returns its host directory.
func waitBound(t *testing.T, ns, claim string) string {
	t.Helper()
	framework.Poll(t, time.Minute, "PVC "+ns+"/"+claim+" to be bound", func(ctx context.Context) (bool, string, error) {
		out, err := tryKubectl("", "get", "pvc", "-n", ns, claim, "-o", "jsonpath={.status.phase}")
		return err == nil && out == "Bound", out, nil
	})
	return framework.ClaimDir(t, c, ns, claim)
}

// expectColumns checks cells of `kubectl get restore`; DURATION, when
// wanted as "<duration>", must parse as a Go duration.
func expectColumns(t *testing.T, ns, name string, want map[string]string) {
	t.Helper()
	got := restoreColumns(t, ns, name)
	for col, w := range want {
		g, ok := got[col]
		switch {
		case !ok:
			t.Errorf("kubectl get restore has no %s column: %v", col, got)
		case w == "<duration>":
			if _, err := time.ParseDuration(g); err != nil {
				t.Errorf("kubectl get restore %s = %q, want a duration", col, g)
			}
		case g != w:
			t.Errorf("kubectl get restore %s = %q, want %q", col, g, w)
		}
	}
}

// TestRestoreStatefulSet applies the reference's sample RestoreSession:
// components pod-0 and pod-2 of the latest Snapshot into the StatefulSet
// restore-sts, exactly as the reference writes it (the encryption Secret
// named with its namespace). Only those two replicas' volumes receive
// data, and from the newest Snapshot.
func TestRestoreStatefulSet(t *testing.T) {
	t.Parallel()
	install(t)
	ns := newNamespace(t, "sts")
	encryptionSecret(t, ns, "encrypt-secret", "sts-password")
	storageDir := localRepository(t, ns, "gcs-demo-repo", ns, "encrypt-secret")

	old, newer := map[string]string{}, map[string]string{}
	want := map[string]fstree.Tree{}
	for i := range 3 {
		comp := fmt.Sprintf("pod-%d", i)
		old[comp], _ = source(t, 10+i)
		newer[comp], want[comp] = source(t, i)
	}
	seedSnapshot(t, ns, "gcs-demo-repo", "yesterday", storageDir, "/data", old)
	// Backed up a day ago: `latest` must pick the other one.
	kubectl(t, "", "patch", "snapshot", "-n", ns, "yesterday", "--subresource=status", "--type=merge",
		"-p", fmt.Sprintf(`{"status":{"snapshotTime":%q}}`, time.Now().Add(-24*time.Hour).UTC().Format(time.RFC3339)))
	seedSnapshot(t, ns, "gcs-demo-repo", "today", storageDir, "/data", newer)

	apply(t, fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: restore-sts, namespace: %[1]s}
spec:
  replicas: 3
  serviceName: restore-sts
  selector: {matchLabels: {app: restore-sts}}
  template:
    metadata: {labels: {app: restore-sts}}
    spec:
      containers:
      - name: app
        image: example.com/app:v1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata: {name: sample-restore, namespace: %[1]s}
spec:
  addon:
    name: workload-addon
    tasks:
    - name: logical-backup-restore
  dataSource:
    components: [pod-0, pod-2]
    encryptionSecret: {name: encrypt-secret, namespace: %[1]s}
    repository: gcs-demo-repo
    snapshot: latest
  target: {apiGroup: apps, kind: StatefulSet, name: restore-sts, namespace: %[1]s}
`, ns))

	rs := framework.WaitForPhase(t, restoreClient, ns, "sample-restore", corev1alpha1.RestoreSucceeded, restoreTimeout)
	if rs.Status.TotalComponents != 2 {
		t.Errorf("totalComponents = %d, want 2", rs.Status.TotalComponents)
	}
	for _, comp := range []string{"pod-0", "pod-2"} {
		framework.ExpectSameTree(t, comp+"'s volume", want[comp], framework.ClaimDir(t, c, ns, "data-restore-sts-"+comp[len("pod-"):]))
	}
	// pod-1 was not asked for: its volume stays as it was, empty.
	if entries, err := os.ReadDir(waitBound(t, ns, "data-restore-sts-1")); err != nil || len(entries) != 0 {
		t.Errorf("pod-1's volume, not restored, holds %d entries (%v)", len(entries), err)
	}
	expectColumns(t, ns, "sample-restore", map[string]string{
		"REPOSITORY": "gcs-demo-repo", "PHASE": "Succeeded", "PROGRESS": "2/2 components, 100%", "DURATION": "<duration>",
	})
}

// TestRestoreDeploymentAndDaemonSet restores one Snapshot into a
// Deployment's PVC and a DaemonSet's hostPath volume, each named in the
// task's targetVolumes.
func TestRestoreDeploymentAndDaemonSet(t *testing.T) {
	t.Parallel()
	install(t)
	ns := newNamespace(t, "workloads")
	encryptionSecret(t, ns, "encrypt-secret", "workloads-password")
	storageDir := localRepository(t, ns, "repo", ns, "encrypt-secret")
	dir, want := source(t, 20)
	seedSnapshot(t, ns, "repo", "snap", storageDir, "/var/lib/app", map[string]string{"dump": dir})
	pvc(t, ns, "web-data")
	hostDir := t.TempDir()

	// Both targets mount their volume at /var/lib/app, where the data was
	// backed up from.
	podSpec := func(volume string) string {
		return `      containers:
      - name: app
        image: example.com/app:v1
        volumeMounts: [{name: data, mountPath: /var/lib/app}]
      volumes:
      - name: data
        ` + volume
	}
	restore := func(name, kind, volume string) string {
		return fmt.Sprintf(`apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  addon:
    name: workload-addon
    tasks:
    - name: logical-backup-restore
      targetVolumes:
        volumes:
        - name: data
          %[4]s
        volumeMounts: [{name: data, mountPath: /var/lib/app}]
  dataSource: {repository: repo, snapshot: snap}
  target: {apiGroup: apps, kind: %[3]s, name: %[1]s}
`, name, ns, kind, volume)
	}
	pvcVolume := "persistentVolumeClaim: {claimName: web-data}"
	hostVolume := fmt.Sprintf("hostPath: {path: %s, type: Directory}", hostDir)
	apply(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
%[2]s
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
%[3]s
---
%[4]s---
%[5]s`, ns, podSpec(pvcVolume), podSpec(hostVolume), restore("web", "Deployment", pvcVolume), restore("agent", "DaemonSet", hostVolume)))

	framework.WaitForPhase(t, restoreClient, ns, "web", corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.WaitForPhase(t, restoreClient, ns, "agent", corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.ExpectSameTree(t, "the Deployment's volume", want, framework.ClaimDir(t, c, ns, "web-data"))
	framework.ExpectSameTree(t, "the DaemonSet's hostPath volume", want, hostDir)
	for _, name := range []string{"web", "agent"} {
		expectColumns(t, ns, name, map[string]string{"PHASE": "Succeeded", "PROGRESS": "1/1 components, 100%", "DURATION": "<duration>"})
	}
}

// TestRestorePVCWithParams restores part of a Snapshot into a stand-alone
// PVC with the catalog's pvc-addon, through its "include" parameter.
func TestRestorePVCWithParams(t *testing.T) {
	t.Parallel()
	install(t)
	ns, want := pvcWorld(t, "pvc", 30)
	for p := range want {
		if p != "app" && !strings.HasPrefix(p, "app/") {
			delete(want, p)
		}
	}
	apply(t, pvcRestore(ns, "partial", "pvc-addon", "{repository: repo, snapshot: snap}", "{include: app}"))
	framework.WaitForPhase(t, restoreClient, ns, "partial", corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.ExpectSameTree(t, "the PVC (include: app)", want, framework.ClaimDir(t, c, ns, "restore-pvc"))
}

// TestRestoreFromS3 restores from a Repository on an S3 BackupStorage
// served by versitygw, whose credentials the storage's Secret holds.
func TestRestoreFromS3(t *testing.T) {
	t.Parallel()
	install(t)
	ctx := context.Background()
	gw := framework.StartVersitygw(t)
	gw.MakeBucket(ctx, t, "backups")
	ns := newNamespace(t, "s3")
	encryptionSecret(t, ns, "encrypt-secret", "s3-password")
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
      bucket: backups
      prefix: cluster-1
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
	dir, want := source(t, 40)
	seedSnapshot(t, ns, "s3-repo", "snap", "", "/kubestash-data", map[string]string{"dump": dir})
	pvc(t, ns, "restore-pvc")
	apply(t, pvcRestore(ns, "from-s3", "workload-addon", "{repository: s3-repo, snapshot: latest}", ""))
	framework.WaitForPhase(t, restoreClient, ns, "from-s3", corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.ExpectSameTree(t, "the PVC restored from S3", want, framework.ClaimDir(t, c, ns, "restore-pvc"))
}

// TestRestoreFailures: a wrong encryption key fails the restore with the
// executor's invalid-password error in the component, and a Snapshot that
// does not exist makes it Invalid, naming the field.
func TestRestoreFailures(t *testing.T) {
	t.Parallel()
	install(t)
	ns, _ := pvcWorld(t, "failures", 50)
	encryptionSecret(t, ns, "wrong-key", "not-the-password")
	apply(t, pvcRestore(ns, "wrong-key", "pvc-addon", "{repository: repo, snapshot: snap, encryptionSecret: {name: wrong-key}}", "")+
		pvcRestore(ns, "no-snapshot", "pvc-addon", "{repository: repo, snapshot: no-such-snapshot}", ""))

	failed := framework.WaitForPhase(t, restoreClient, ns, "wrong-key", corev1alpha1.RestoreFailed, restoreTimeout)
	if comp := failed.Status.Components["dump"]; comp.Phase != corev1alpha1.RestoreFailed || !strings.Contains(comp.Error, "invalid repository password") {
		t.Errorf("component dump = %s %q, want Failed with the invalid-password error", comp.Phase, comp.Error)
	}
	expectColumns(t, ns, "wrong-key", map[string]string{"PHASE": "Failed", "PROGRESS": "0/1 components, 0%, 1 failed", "DURATION": "<duration>"})

	invalid := framework.WaitForPhase(t, restoreClient, ns, "no-snapshot", corev1alpha1.RestoreInvalid, restoreTimeout)
	framework.ExpectConditionMessage(t, invalid, corev1alpha1.TypeValidationPassed, "spec.dataSource.snapshot", "no-such-snapshot")
	expectColumns(t, ns, "no-snapshot", map[string]string{"PHASE": "Invalid"})
}

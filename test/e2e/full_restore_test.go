package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/test/framework"
)

// kopiaImage is mapped to the real cmd/restore-executor.
const kopiaImage = "example.com/restore-executor:v1"

// kopiaAddon creates a cluster-scoped Addon whose restore task
// "logical-backup-restore" runs the real executor with every task
// parameter it understands, and returns the Addon's name.
func (w *restoreWorld) kopiaAddon(t *testing.T) string {
	t.Helper()
	name := "kopia-" + w.ns
	var params []common.ParameterDefinition
	for _, p := range []string{invocation.ParamInclude, invocation.ParamExclude, invocation.ParamParallel,
		invocation.ParamResume, invocation.ParamDeleteExtra, invocation.ParamSparse,
		invocation.ParamDryRun, invocation.ParamVerify, invocation.ParamBandwidthLimit} {
		params = append(params, common.ParameterDefinition{Name: p})
	}
	createAddon(t, name, name, addonsv1alpha1.FunctionSpec{
		Image:   kopiaImage,
		Command: []string{"/restore-executor"},
		Args: []string{"restore",
			"--snapshot=${snapshotName}", "--component=${component}", "--progress-interval=200ms",
			"--include=${include:=}", "--exclude=${exclude:=}", "--parallel=${parallel:=0}",
			"--resume=${resume:=true}", "--delete-extra=${deleteExtra:=false}", "--sparse=${sparse:=false}",
			"--dry-run=${dryRun:=false}", "--verify=${verify:=false}", "--bandwidth-limit=${bandwidthLimit:=0}"},
	}, addonsv1alpha1.Task{Name: "logical-backup-restore", Parameters: params})
	return name
}

// seedSnapshot snapshots each component's directory into the world's
// repository and records the Snapshot object with `restore-executor
// snapshot`, run on the host with the admin kubeconfig and the
// environment the storage needs (an emulator's address, its certificate):
// a process of its own, because that environment is process-wide.
func (w *restoreWorld) seedSnapshot(t *testing.T, name, hostPath string, dirs map[string]string) {
	t.Helper()
	args := []string{"snapshot", "--kubeconfig", c.KubeconfigPath(), "--namespace", w.ns,
		"--repository", w.repository, "--name", name, "--scratch-dir", t.TempDir()}
	for _, comp := range slices.Sorted(maps.Keys(dirs)) {
		args = append(args, "--component", comp+"="+dirs[comp]+":"+hostPath)
	}
	args = append(args, w.storage.seedArgs...)
	framework.RunCommand(t, w.storage.hostEnv(), executorBin, args...)
}

// writeData writes a small tree that differs per seed: nested directories,
// files of a few sizes, a symlink and an empty directory.
func writeData(t *testing.T, dir string, seed int) {
	t.Helper()
	framework.WriteTree(t, dir, seed, map[string]int{"app/config.yaml": 300, "app/db/data.bin": 3 << 20, "keep/notes.txt": 5000, "cache/tmp.bin": 70000})
}

// TestFullRestoreFromAnotherNamespace restores only an included subtree of
// namespace prod's backup into a PVC of namespace staging, as a cluster
// admin restoring production data into a staging namespace would. Without
// the owner's consent (the BackupStorage's usagePolicy) the RestoreSession
// is Invalid and nothing is created in either namespace; once the owner
// allows staging, the same RestoreSession proceeds by itself, the executor
// reads exactly the named objects of prod through a Role the controller
// creates there and deletes when the restore ends. A Secret of a third
// namespace is refused even with consent.
func TestFullRestoreFromAnotherNamespace(t *testing.T) {
	ctx := context.Background()
	prodNS := framework.NewNamespace(t, c, "e2e-")
	stagingNS := framework.NewNamespace(t, c, "e2e-")
	otherNS := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, prodNS, "fake-"+prodNS, "repo")
	addon := w.kopiaAddon(t)
	src := t.TempDir()
	writeData(t, src, 3)
	w.seedSnapshot(t, "snap", "/kubestash-data", map[string]string{"dump": src})

	// The same password in a third namespace, which nobody vouches for.
	prodKey, err := c.Client().CoreV1().Secrets(prodNS).Get(ctx, "encrypt-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	framework.MustCreate(t, "Secret", func() error {
		_, err := c.Client().CoreV1().Secrets(otherNS).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "shared-key"}, Data: prodKey.Data,
		}, metav1.CreateOptions{})
		return err
	})
	persistentVolumeClaim(t, stagingNS, "app-data")
	startController(t)

	restore := func(name string, secret *common.ObjectReference) *corev1alpha1.RestoreSession {
		rs := w.restoreSession(name, "snap", appDataTarget(), `{"include":"keep"}`)
		rs.Namespace = stagingNS
		rs.Spec.Addon.Name = addon
		rs.Spec.DataSource.Namespace = prodNS
		rs.Spec.DataSource.EncryptionSecret = secret
		return rs
	}
	thirdNS := restore("third-namespace-secret", &common.ObjectReference{Namespace: otherNS, Name: "shared-key"})
	createRestore(t, thirdNS)
	rs := restore("from-prod", nil)
	createRestore(t, rs)

	refused := framework.WaitForPhase(t, restoreClient, stagingNS, rs.Name, corev1alpha1.RestoreInvalid, time.Minute)
	framework.ExpectConditionMessage(t, refused, corev1alpha1.TypeValidationPassed, "spec.dataSource.repository: Forbidden",
		fmt.Sprintf("Repository %s/repo is in another namespace", prodNS), fmt.Sprintf("does not allow the RestoreSession's namespace %q", stagingNS))
	expectNothingCreated(t, stagingNS, prodNS, otherNS)

	// The owner of prod allows every namespace.
	bs, err := restoreClient.StorageV1alpha1().BackupStorages(prodNS).Get(ctx, backupStorageName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs.Spec.UsagePolicy = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}}
	if _, err := restoreClient.StorageV1alpha1().BackupStorages(prodNS).Update(ctx, bs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := framework.WaitForPhase(t, restoreClient, stagingNS, rs.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)

	want := framework.ScanTree(t, src)
	for p := range want {
		if p != "keep" && !strings.HasPrefix(p, "keep/") {
			delete(want, p)
		}
	}
	restored := framework.ClaimDir(t, c, stagingNS, "app-data")
	framework.ExpectSameTree(t, "the partial restore of keep/", want, restored)
	if got.Status.Components["dump"].Progress == nil {
		t.Errorf("component dump has no progress")
	}

	// Consent to the storage does not extend to a third namespace's Secret.
	other := framework.WaitForPhase(t, restoreClient, stagingNS, thirdNS.Name, corev1alpha1.RestoreInvalid, time.Minute)
	framework.ExpectConditionMessage(t, other, corev1alpha1.TypeValidationPassed, "spec.dataSource.encryptionSecret: Forbidden",
		fmt.Sprintf("Secret %s/shared-key is in another namespace", otherNS))

	// The Role in prod is gone once the restore ended, and so is the
	// finalizer that guaranteed it.
	framework.Poll(t, 30*time.Second, "the foreign Role to be deleted", func(ctx context.Context) (bool, string, error) {
		roles, err := c.Client().RbacV1().Roles(prodNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		rs, err := restoreClient.CoreV1alpha1().RestoreSessions(stagingNS).Get(ctx, "from-prod", metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, "", err
		}
		return len(roles.Items) == 0 && len(rs.Finalizers) == 0, fmt.Sprintf("%d roles, finalizers %v", len(roles.Items), rs.Finalizers), nil
	})
	expectNothingCreated(t, otherNS)
}

// expectNothingCreated fails if any namespace holds a Role, RoleBinding,
// Job or ServiceAccount made by the controller.
func expectNothingCreated(t *testing.T, namespaces ...string) {
	t.Helper()
	ctx := context.Background()
	selector := metav1.ListOptions{LabelSelector: "kubestash.com/invoker-kind=RestoreSession"}
	for _, ns := range namespaces {
		roles, err := c.Client().RbacV1().Roles(ns).List(ctx, selector)
		if err != nil {
			t.Fatal(err)
		}
		bindings, err := c.Client().RbacV1().RoleBindings(ns).List(ctx, selector)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := c.Client().BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sas, err := c.Client().CoreV1().ServiceAccounts(ns).List(ctx, selector)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(roles.Items) + len(bindings.Items) + len(jobs.Items) + len(sas.Items); n > 0 {
			t.Errorf("namespace %s holds %d Roles, %d RoleBindings, %d Jobs, %d ServiceAccounts of a refused restore",
				ns, len(roles.Items), len(bindings.Items), len(jobs.Items), len(sas.Items))
		}
	}
}

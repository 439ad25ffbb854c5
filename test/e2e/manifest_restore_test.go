package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/test/framework"
)

var postgresGVR = schema.GroupVersionResource{Group: manifest.KubeDBGroup, Version: "v1", Resource: "postgreses"}

// installKubeDBCRDs installs minimal CRDs of the KubeDB databases a
// manifest restore handles: kubedb.com/v1, namespaced, a status
// subresource, and a schema that accepts any content. They stay for the
// rest of the package's cluster.
func installKubeDBCRDs(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, db := range manifest.Databases {
		singular := strings.ToLower(db.Kind)
		crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]s.kubedb.com
spec:
  group: kubedb.com
  scope: Namespaced
  names: {kind: %[2]s, listKind: %[2]sList, plural: %[1]s, singular: %[3]s}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, db.Resource, db.Kind, singular)
		if err := os.WriteFile(filepath.Join(dir, db.Resource+".yaml"), []byte(crd), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := framework.InstallCRDs(context.Background(), c.Config(), dir); err != nil {
		t.Fatalf("installing the KubeDB CRDs: %v", err)
	}
}

// manifestAddon creates a cluster-scoped Addon whose restore task
// manifest-restore runs the real executor's restore-manifests, and returns
// its name.
func (w *restoreWorld) manifestAddon(t *testing.T) string {
	t.Helper()
	name := "manifest-" + w.ns
	createAddon(t, name, name, addonsv1alpha1.FunctionSpec{
		Image:   kopiaImage,
		Command: []string{"/restore-executor"},
		Args:    []string{"restore-manifests", "--snapshot=${snapshotName}", "--component=${component}"},
	}, addonsv1alpha1.Task{Name: invocation.TaskManifestRestore})
	return name
}

// postgresSource is a Postgres "pg" in ns with its auth and config Secrets,
// a TLS issuer reference, a Ready status and kubectl's last-applied
// annotation: everything a dump must not carry to another namespace.
type postgresSource struct {
	ns                       string
	dyn                      dynamic.Interface
	authData, configData     map[string][]byte
	authRV, configRV, pgRV   string
	sourceUID, sourceAuthUID string
}

func newPostgresSource(t *testing.T, ns string) *postgresSource {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	src := &postgresSource{
		ns: ns, dyn: dyn,
		authData:   map[string][]byte{"username": []byte("postgres"), "password": []byte("s3cr3t-pw")},
		configData: map[string][]byte{"user.conf": []byte("max_connections=42\n")},
	}
	kc := c.Client().CoreV1().Secrets(ns)
	auth, err := kc.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pg-auth", Labels: map[string]string{"app.kubernetes.io/instance": "pg"}},
		Type:       corev1.SecretTypeBasicAuth, Data: src.authData,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	config, err := kc.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pg-config"}, Data: src.configData}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pg := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubedb.com/v1", "kind": "Postgres",
		"metadata": map[string]any{
			"name": "pg", "annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"Postgres"}`},
		},
		"spec": map[string]any{
			"version":        "16.1",
			"replicas":       int64(1),
			"authSecret":     map[string]any{"name": "pg-auth"},
			"configSecret":   map[string]any{"name": "pg-config"},
			"tls":            map[string]any{"issuerRef": map[string]any{"apiGroup": "cert-manager.io", "kind": "Issuer", "name": "pg-issuer"}},
			"deletionPolicy": "WipeOut",
		},
	}}
	pgs := dyn.Resource(postgresGVR).Namespace(ns)
	pg, err = pgs.Create(ctx, pg, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pg.Object["status"] = map[string]any{"phase": "Ready"}
	if pg, err = pgs.UpdateStatus(ctx, pg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	src.pgRV, src.sourceUID = pg.GetResourceVersion(), string(pg.GetUID())
	src.authRV, src.configRV, src.sourceAuthUID = auth.ResourceVersion, config.ResourceVersion, string(auth.UID)
	return src
}

// snapshot runs `restore-executor snapshot --manifests` on the host with
// the admin kubeconfig, as a user would: it dumps the Postgres and its
// Secrets from the API in the manifest format and snapshots them into the
// world's repository as component "manifest" of Snapshot "snap".
func (src *postgresSource) snapshot(t *testing.T, w *restoreWorld) {
	t.Helper()
	args := []string{"snapshot", "--kubeconfig", c.KubeconfigPath(), "--namespace", w.ns,
		"--repository", w.repository, "--name", "snap", "--local-storage-dir", w.storageDir,
		"--manifests", "manifest=" + src.ns + "/postgreses.kubedb.com",
		"--manifests", "manifest=" + src.ns + "/secrets/pg-auth",
		"--manifests", "manifest=" + src.ns + "/secrets/pg-config",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, executorBin, args...)
	// The default scratch directories (the dump, kopia's config and
	// caches) go under TMPDIR: keep them in the test's.
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore-executor %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// untouched fails if a source object changed.
func (src *postgresSource) untouched(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for name, rv := range map[string]string{"pg-auth": src.authRV, "pg-config": src.configRV} {
		s, err := c.Client().CoreV1().Secrets(src.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || s.ResourceVersion != rv {
			t.Errorf("source Secret %s/%s changed or vanished: %v", src.ns, name, err)
		}
	}
	pg, err := src.dyn.Resource(postgresGVR).Namespace(src.ns).Get(ctx, "pg", metav1.GetOptions{})
	if err != nil || pg.GetResourceVersion() != src.pgRV {
		t.Errorf("source Postgres %s/pg changed or vanished: %v", src.ns, err)
	}
}

// manifestRestore is a RestoreSession of the world's manifest addon that
// restores the Postgres into dst under new names.
func (w *restoreWorld) manifestRestore(name, addon, dst string) *corev1alpha1.RestoreSession {
	rs := w.restoreSession(name, "snap", nil, "")
	rs.Spec.Addon.Name = addon
	rs.Spec.Addon.Tasks[0].Name = invocation.TaskManifestRestore
	rs.Spec.ManifestOptions = &corev1alpha1.ManifestRestoreOptions{
		RestoreNamespace: dst,
		Postgres: &corev1alpha1.KubeDBManifestOptions{
			DBName: "pg-restored", AuthSecretName: "pg-restored-auth", ConfigSecretName: "pg-restored-config", IssuerRefName: "restored-issuer",
		},
	}
	return rs
}

// TestManifestRestorePostgres dumps a Postgres and its auth and config
// Secrets into a kopia repository, then restores them through the
// controller and the real executor into another namespace under new names,
// with the references between them fixed and nothing of the source
// cluster's bookkeeping carried over.
func TestManifestRestorePostgres(t *testing.T) {
	ctx := context.Background()
	w, addon, src, dst := seededManifestWorld(t)
	ns := w.ns
	startController(t)

	rs := w.manifestRestore("manifests", addon, dst)
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)
	if cs := got.Status.Components["manifest"]; cs.Phase != corev1alpha1.RestoreSucceeded || cs.Duration == "" {
		t.Errorf("component manifest = %+v, want Succeeded with a duration", cs)
	}

	for name, want := range map[string]map[string][]byte{"pg-restored-auth": src.authData, "pg-restored-config": src.configData} {
		s, err := c.Client().CoreV1().Secrets(dst).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("restored Secret %s/%s: %v", dst, name, err)
		}
		if fmt.Sprint(s.Data) != fmt.Sprint(want) || len(s.OwnerReferences) != 0 {
			t.Errorf("restored Secret %s: data %q owners %v, want data %q and no owners", name, s.Data, s.OwnerReferences, want)
		}
		if name == "pg-restored-auth" && (s.Type != corev1.SecretTypeBasicAuth || s.Labels["app.kubernetes.io/instance"] != "pg" || string(s.UID) == src.sourceAuthUID) {
			t.Errorf("restored auth Secret: type %q labels %v uid %s", s.Type, s.Labels, s.UID)
		}
	}
	pg, err := src.dyn.Resource(postgresGVR).Namespace(dst).Get(ctx, "pg-restored", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored Postgres: %v", err)
	}
	for path, want := range map[string]string{
		"spec.authSecret.name": "pg-restored-auth", "spec.configSecret.name": "pg-restored-config",
		"spec.tls.issuerRef.name": "restored-issuer", "spec.tls.issuerRef.kind": "Issuer", "spec.version": "16.1",
	} {
		if v, _, _ := unstructured.NestedString(pg.Object, strings.Split(path, ".")...); v != want {
			t.Errorf("restored Postgres %s = %q, want %q", path, v, want)
		}
	}
	if _, found := pg.Object["status"]; found {
		t.Errorf("restored Postgres carries the source's status: %v", pg.Object["status"])
	}
	if string(pg.GetUID()) == src.sourceUID || pg.GetGeneration() != 1 {
		t.Errorf("restored Postgres: uid %s generation %d, want a new object", pg.GetUID(), pg.GetGeneration())
	}
	ann := pg.GetAnnotations()
	if _, found := ann["kubectl.kubernetes.io/last-applied-configuration"]; found || ann[manifest.AnnotationRestoredBy] != executor.RestoredByValue(ns, rs.Name, string(got.UID)) {
		t.Errorf("restored Postgres annotations %v", ann)
	}
	for _, old := range []string{"pg-auth", "pg-config"} {
		if _, err := c.Client().CoreV1().Secrets(dst).Get(ctx, old, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Secret %s/%s exists under its old name: %v", dst, old, err)
		}
	}
	src.untouched(t)

	// The executor's Role in the restore namespace goes with the restore.
	framework.Poll(t, 30*time.Second, "the executor Role in the restore namespace to be deleted", func(ctx context.Context) (bool, string, error) {
		roles, err := c.Client().RbacV1().Roles(dst).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		return len(roles.Items) == 0, fmt.Sprintf("%d Roles", len(roles.Items)), nil
	})
}

// TestManifestRestoreRefusesToOverwrite restores into a namespace that
// already holds a different Secret under the new auth Secret name: the
// restore fails naming it, and neither it nor anything else is written.
func TestManifestRestoreRefusesToOverwrite(t *testing.T) {
	ctx := context.Background()
	w, addon, src, dst := seededManifestWorld(t)
	ns := w.ns
	existing, err := c.Client().CoreV1().Secrets(dst).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pg-restored-auth"},
		Data:       map[string][]byte{"password": []byte("someone-elses")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	startController(t)

	rs := w.manifestRestore("manifests", addon, dst)
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, 3*time.Minute)
	cs := got.Status.Components["manifest"]
	want := "Secret " + dst + "/pg-restored-auth"
	if cs.Phase != corev1alpha1.RestoreFailed || !strings.Contains(cs.Error, want) || !strings.Contains(cs.Error, "already exists") {
		t.Errorf("component manifest = %+v, want Failed naming %s", cs, want)
	}

	after, err := c.Client().CoreV1().Secrets(dst).Get(ctx, "pg-restored-auth", metav1.GetOptions{})
	if err != nil || after.ResourceVersion != existing.ResourceVersion {
		t.Errorf("the existing Secret was modified or removed: %v", err)
	}
	if _, err := src.dyn.Resource(postgresGVR).Namespace(dst).Get(ctx, "pg-restored", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Postgres was created although its auth Secret could not be: %v", err)
	}
	src.untouched(t)
}

// seededManifestWorld installs the KubeDB CRDs and returns a world whose
// namespace holds the Postgres and its Secrets (src), snapshotted into the
// world's repository, its manifest Addon, and an empty namespace dst to
// restore into.
func seededManifestWorld(t *testing.T) (w *restoreWorld, addon string, src *postgresSource, dst string) {
	t.Helper()
	installKubeDBCRDs(t)
	ns := framework.NewNamespace(t, c, "e2e-")
	dst = framework.NewNamespace(t, c, "e2e-")
	acceptManifestRestores(t, dst, ns)
	w = newRestoreWorld(t, ns, "fake-"+ns, "repo")
	addon = w.manifestAddon(t)
	src = newPostgresSource(t, ns)
	src.snapshot(t, w)
	return w, addon, src, dst
}

// acceptManifestRestores gives the consent of namespace dst's owner to
// manifest restores from RestoreSessions of namespace from.
func acceptManifestRestores(t *testing.T, dst, from string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, refs.AnnotationAcceptManifestRestoresFrom, from)
	if _, err := c.Client().CoreV1().Namespaces().Patch(context.Background(), dst, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

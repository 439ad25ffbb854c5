package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

// The custom resource of the kubedump test, and the label every object
// of its backup carries.
var gizmoGVR = schema.GroupVersionResource{Group: "kubedump.e2e.example.com", Version: "v1", Resource: "gizmos"}

const (
	gizmoCRD       = "gizmos.kubedump.e2e.example.com"
	kubedumpLabel  = "kubedump-e2e"
	kubedumpSource = "web"
)

// installKubedumpAddon creates the catalog's kubedump-addon Addon and its
// Function from artifacts/addons/kubedump.yaml, with the image mapped to
// the executor binary; both are deleted when the test ends.
func installKubedumpAddon(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "artifacts", "addons", "kubedump.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		doc = strings.ReplaceAll(doc, "ghcr.io/restore-controller/restore-executor:v0.1.0", kopiaImage)
		if _, err := applier.Create(ctx, doc); err != nil {
			t.Fatalf("creating the kubedump catalog: %v", err)
		}
	}
	t.Cleanup(func() {
		_ = restoreClient.AddonsV1alpha1().Addons().Delete(ctx, "kubedump-addon", metav1.DeleteOptions{})
		_ = restoreClient.AddonsV1alpha1().Functions().Delete(ctx, "kubedump-restore", metav1.DeleteOptions{})
	})
}

// kubedumpSourceObjects creates, in ns, what a user backs up: a Deployment
// (whose ReplicaSet the controller manager makes), a Service, two
// ConfigMaps, a Secret, a PVC, a ServiceAccount with a RoleBinding, and a
// CRD with a custom resource owned by a ConfigMap; everything carries
// kubedumpLabel=ns. The CRD is deleted when the test ends.
func kubedumpSourceObjects(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	kc := c.Client()
	meta := func(name string, extra ...string) metav1.ObjectMeta {
		l := map[string]string{kubedumpLabel: ns}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l}
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating %s: %v", what, err)
		}
	}
	appConfig, err := kc.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("app-config"), Data: map[string]string{"mode": "backed-up"}}, metav1.CreateOptions{})
	must("ConfigMap", err)
	_, err = kc.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("cache-config", "tier", "cache"), Data: map[string]string{"size": "1Gi"}}, metav1.CreateOptions{})
	must("ConfigMap", err)
	_, err = kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta("app-secret"), StringData: map[string]string{"password": "s3cr3t"}}, metav1.CreateOptions{})
	must("Secret", err)
	_, err = kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta("app-sa")}, metav1.CreateOptions{})
	must("ServiceAccount", err)
	_, err = kc.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: meta("app-view"),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "app-sa", Namespace: ns}},
	}, metav1.CreateOptions{})
	must("RoleBinding", err)
	// Without a selector: the endpoints controller makes no Endpoints
	// carrying the Service's labels into the backup.
	_, err = kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: meta(kubedumpSource),
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	must("Service", err)
	_, err = kc.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: meta("data"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		},
	}, metav1.CreateOptions{})
	must("PVC", err)
	podLabels := map[string]string{kubedumpLabel: ns, "app": kubedumpSource}
	_, err = kc.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: meta(kubedumpSource),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": kubedumpSource}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec:       corev1.PodSpec{ServiceAccountName: "app-sa", Containers: []corev1.Container{{Name: "web", Image: "example.com/web:v1"}}},
			},
		},
	}, metav1.CreateOptions{})
	must("Deployment", err)

	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %s
  labels: {%s: %s}
spec:
  group: %s
  scope: Namespaced
  names: {kind: Gizmo, listKind: GizmoList, plural: gizmos, singular: gizmo}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, gizmoCRD, kubedumpLabel, ns, gizmoGVR.Group)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gizmos.yaml"), []byte(crd), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := framework.InstallCRDs(ctx, c.Config(), dir); err != nil {
		t.Fatalf("installing the Gizmo CRD: %v", err)
	}
	t.Cleanup(func() { deleteGizmoCRD(t) })
	gizmo := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gizmoGVR.GroupVersion().String(), "kind": "Gizmo",
		"metadata": map[string]any{
			"name": "g1", "labels": map[string]any{kubedumpLabel: ns},
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config", "uid": string(appConfig.UID)}},
		},
		"spec": map[string]any{"size": int64(3)},
	}}
	_, err = dynamicClient(t).Resource(gizmoGVR).Namespace(ns).Create(ctx, gizmo, metav1.CreateOptions{})
	must("Gizmo", err)

	// The controller manager makes the Deployment's ReplicaSet, which the
	// backup holds with its owner.
	framework.Poll(t, time.Minute, "the Deployment's ReplicaSet", func(ctx context.Context) (bool, string, error) {
		list, err := kc.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kubedumpLabel + "=" + ns})
		if err != nil {
			return false, "", err
		}
		return len(list.Items) == 1, fmt.Sprintf("%d ReplicaSets", len(list.Items)), nil
	})
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

func deleteGizmoCRD(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	crds := dynamicClient(t).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if err := crds.Delete(ctx, gizmoCRD, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	framework.Poll(t, time.Minute, "the Gizmo CRD to be gone", func(ctx context.Context) (bool, string, error) {
		_, err := crds.Get(ctx, gizmoCRD, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err), nil
	})
}

// deleteSourceNamespace deletes ns and the Gizmo CRD, and waits until both
// are gone.
func deleteSourceNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := c.Client().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	framework.Poll(t, 2*time.Minute, "namespace "+ns+" to be gone", func(ctx context.Context) (bool, string, error) {
		_, err := c.Client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err), nil
	})
	deleteGizmoCRD(t)
}

// kubedumpObjects lists the labelled objects of the backup's kinds in ns
// as "resource/name", sorted, with their resource versions.
func kubedumpObjects(t *testing.T, ns string) (names []string, versions map[string]string) {
	t.Helper()
	versions = map[string]string{}
	dyn := dynamicClient(t)
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "secrets"}, {Version: "v1", Resource: "serviceaccounts"},
		{Version: "v1", Resource: "services"}, {Version: "v1", Resource: "persistentvolumeclaims"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "apps", Version: "v1", Resource: "replicasets"},
		gizmoGVR,
	} {
		list, err := dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kubedumpLabel + "=" + ns})
		if apierrors.IsNotFound(err) && gvr == gizmoGVR {
			continue // the CRD is not there
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			key := gvr.Resource + "/" + o.GetName()
			if gvr.Resource == "replicasets" {
				key = gvr.Resource + "/" + kubedumpSource + "-*"
			}
			names = append(names, key)
			versions[key] = o.GetResourceVersion()
		}
	}
	slices.Sort(names)
	return names, versions
}

// docsRestoreSession is the docs' RestoreSession in file (under
// test/admission/testdata/kubestash-docs/restoresession) with its addon
// section, params and service account unchanged, moved into the world's
// namespace, repository and snapshot.
func docsRestoreSession(t *testing.T, w *restoreWorld, file, name string, params map[string]string) *corev1alpha1.RestoreSession {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "test", "admission", "testdata", "kubestash-docs", "restoresession", file))
	if err != nil {
		t.Fatal(err)
	}
	rs := &corev1alpha1.RestoreSession{}
	if err := yaml.UnmarshalStrict(raw, rs); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	rs.Name, rs.Namespace = name, w.ns
	rs.Spec.DataSource = corev1alpha1.RestoreDataSource{Repository: w.repository, Snapshot: "snap",
		EncryptionSecret: rs.Spec.DataSource.EncryptionSecret}
	if rs.Spec.DataSource.EncryptionSecret != nil {
		rs.Spec.DataSource.EncryptionSecret.Namespace = w.ns
	}
	if params != nil {
		merged := map[string]string{}
		if p := rs.Spec.Addon.Tasks[0].Params; p != nil {
			if err := yaml.Unmarshal(p.Raw, &merged); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range params {
			merged[k] = v
		}
		js, err := yaml.Marshal(merged)
		if err != nil {
			t.Fatal(err)
		}
		js, err = yaml.YAMLToJSON(js)
		if err != nil {
			t.Fatal(err)
		}
		rs.Spec.Addon.Tasks[0].Params.Raw = js
	}
	// The docs bind the Job's service account to a ClusterRole that may
	// read and write what is restored.
	sa := rs.Spec.Addon.JobTemplate.Spec.ServiceAccountName
	if _, err := c.Client().CoreV1().ServiceAccounts(w.ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	crb := "kubedump-" + w.ns + "-" + sa
	if _, err := c.Client().RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: crb},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: w.ns}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client().RbacV1().ClusterRoleBindings().Delete(context.Background(), crb, metav1.DeleteOptions{})
	})
	return rs
}

// restoreTally waits for the RestoreSession to reach phase and returns the
// tally of its manifest component as status.components.manifest.manifests
// says it ("created N, already existed N, updated N, skipped N, failed N",
// then the failures named), after checking that the executor's Event says
// the same.
func restoreTally(t *testing.T, rs *corev1alpha1.RestoreSession, phase corev1alpha1.RestorePhase) (*corev1alpha1.RestoreSession, string) {
	t.Helper()
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, rs.Namespace, rs.Name, phase, 3*time.Minute)
	m := got.Status.Components["manifest"].Manifests
	if m == nil {
		t.Fatalf("%s: status.components.manifest has no manifests counts: %+v", rs.Name, got.Status.Components["manifest"])
	}
	counts := fmt.Sprintf("created %d, already existed %d, updated %d, skipped %d, failed %d",
		m.Created, m.AlreadyExisted, m.Updated, m.Skipped, m.Failed)
	framework.Poll(t, 30*time.Second, "the executor's Event on "+rs.Name, func(ctx context.Context) (bool, string, error) {
		evs, err := c.Client().CoreV1().Events(rs.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + rs.Name})
		if err != nil {
			return false, "", err
		}
		for _, ev := range evs.Items {
			if ev.Reason == executor.EventReasonManifestsRestored || ev.Reason == executor.EventReasonManifestsFailed {
				if !strings.Contains(ev.Message, counts) {
					t.Errorf("%s: Event %q disagrees with the status counts %q", rs.Name, ev.Message, counts)
				}
				return true, ev.Message, nil
			}
		}
		return false, fmt.Sprintf("%d Events", len(evs.Items)), nil
	})
	return got, strings.Join(append([]string{counts}, m.Failures...), "; ")
}

// TestKubedumpRestore backs up a namespace with the executor's cluster
// dump, deletes the namespace and the CRD, and restores them through the
// controller, the catalog's kubedump-addon and the real executor with the
// docs' RestoreSessions: everything back with owners re-linked; run again,
// everything already exists and nothing changes; OverrideResources puts
// a changed object back; label selectors restore only what they select;
// a custom resource without its CRD fails the restore, counted.
func TestKubedumpRestore(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	src := framework.NewNamespace(t, c, "e2e-kubedump-")
	installKubedumpAddon(t)
	w := newRestoreWorld(t, ns, "unused-"+ns, "repo")
	kubedumpSourceObjects(t, src)
	wantAll, _ := kubedumpObjects(t, src)
	if len(wantAll) != 10 {
		t.Fatalf("source objects %v, want 10", wantAll)
	}

	// Back up as a user would: the snapshot subcommand with the admin
	// kubeconfig dumps the labelled objects, their namespace and the CRD.
	args := []string{"snapshot", "--kubeconfig", c.KubeconfigPath(), "--namespace", ns,
		"--repository", w.repository, "--name", "snap", "--local-storage-dir", w.storageDir,
		"--cluster-manifests", "manifest", "--dump-namespaces", src, "--dump-cluster-resources",
		"--dump-label-selectors", kubedumpLabel + "=" + src,
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, executorBin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore-executor %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	deleteSourceNamespace(t, src)
	startController(t)

	// 1. The docs' restore-filtering-options example restores everything.
	const inBackup = 12 // the 10 objects, the namespace and the CRD
	rs, tally := restoreTally(t, docsRestoreSession(t, w, "cluster-resources-restore-filtering-options-1.yaml", "all", nil), corev1alpha1.RestoreSucceeded)
	if cs := rs.Status.Components["manifest"]; cs.Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("component manifest = %+v, want Succeeded", cs)
	}
	if want := fmt.Sprintf("created %d, already existed 0, updated 0, skipped 0, failed 0", inBackup); !strings.Contains(tally, want) {
		t.Errorf("tally %q, want %q", tally, want)
	}
	got, versions := kubedumpObjects(t, src)
	if !slices.Equal(got, wantAll) {
		t.Errorf("restored objects %v, want %v", got, wantAll)
	}
	assertOwnersRelinked(t, src)

	// 2. Again: every object already exists, and nothing changes.
	_, tally = restoreTally(t, docsRestoreSession(t, w, "cluster-resources-restore-filtering-options-1.yaml", "again", nil), corev1alpha1.RestoreSucceeded)
	if want := fmt.Sprintf("created 0, already existed %d, updated 0, skipped 0, failed 0", inBackup); !strings.Contains(tally, want) {
		t.Errorf("tally of the second restore %q, want %q", tally, want)
	}
	_, after := kubedumpObjects(t, src)
	for _, key := range []string{"configmaps/app-config", "configmaps/cache-config", "secrets/app-secret", "serviceaccounts/app-sa",
		"rolebindings/app-view", "services/web", "gizmos/g1"} {
		if after[key] != versions[key] {
			t.Errorf("%s changed by the second restore: resourceVersion %s, was %s", key, after[key], versions[key])
		}
	}

	// 3. OverrideResources (the docs' filtering demonstration) puts a
	// changed object back to its backed-up content.
	cm, err := c.Client().CoreV1().ConfigMaps(src).Get(ctx, "app-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["mode"] = "changed-since"
	if _, err := c.Client().CoreV1().ConfigMaps(src).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, tally = restoreTally(t, docsRestoreSession(t, w, "cluster-resources-filtering-demonstration-restoresession-1.yaml", "override", nil), corev1alpha1.RestoreSucceeded)
	if !strings.Contains(tally, "created 0,") || !strings.Contains(tally, "updated 1,") || !strings.Contains(tally, "failed 0") {
		t.Errorf("tally with OverrideResources %q, want the one changed ConfigMap updated", tally)
	}
	if cm, err = c.Client().CoreV1().ConfigMaps(src).Get(ctx, "app-config", metav1.GetOptions{}); err != nil || cm.Data["mode"] != "backed-up" {
		t.Errorf("app-config after OverrideResources: %v %v, want mode backed-up", cm.Data, err)
	}

	// 4. Label selectors, without cluster resources: only what they select
	// (and its namespace) comes back.
	deleteSourceNamespace(t, src)
	_, tally = restoreTally(t, docsRestoreSession(t, w, "cluster-resources-restore-filtering-options-1.yaml", "selected",
		map[string]string{"IncludeClusterResources": "false", "ORedLabelSelectors": "tier=cache,tier:none"}), corev1alpha1.RestoreSucceeded)
	if want := fmt.Sprintf("created 2, already existed 0, updated 0, skipped %d, failed 0", inBackup-2); !strings.Contains(tally, want) {
		t.Errorf("tally of the selective restore %q, want %q", tally, want)
	}
	if got, _ := kubedumpObjects(t, src); !slices.Equal(got, []string{"configmaps/cache-config"}) {
		t.Errorf("objects after the selective restore %v, want only configmaps/cache-config", got)
	}

	// 5. A custom resource without its CRD fails the restore, counted and
	// named; the rest is restored.
	rs, tally = restoreTally(t, docsRestoreSession(t, w, "cluster-resources-restore-filtering-options-1.yaml", "no-crd",
		map[string]string{"IncludeClusterResources": "false", "IncludeResources": "gizmos.kubedump.e2e.example.com,configmaps"}), corev1alpha1.RestoreFailed)
	cs := rs.Status.Components["manifest"]
	if cs.Phase != corev1alpha1.RestoreFailed || !strings.Contains(cs.Error, "1 of 4 objects failed to restore") || !strings.Contains(cs.Error, "gizmos.kubedump.e2e.example.com "+src+"/g1") {
		t.Errorf("component manifest = %+v, want Failed counting and naming the Gizmo", cs)
	}
	if !strings.Contains(tally, "failed 1; gizmos.kubedump.e2e.example.com "+src+"/g1: ") {
		t.Errorf("tally %q, want failed 1 naming the Gizmo", tally)
	}
	if _, err := c.Client().CoreV1().ConfigMaps(src).Get(ctx, "app-config", metav1.GetOptions{}); err != nil {
		t.Errorf("app-config was not restored beside the failing Gizmo: %v", err)
	}
}

// assertOwnersRelinked checks that the restored ReplicaSet is owned by the
// restored Deployment and the Gizmo by the restored ConfigMap, by their
// new UIDs.
func assertOwnersRelinked(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	dep, err := c.Client().AppsV1().Deployments(ns).Get(ctx, kubedumpSource, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rss, err := c.Client().AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kubedumpLabel + "=" + ns})
	if err != nil || len(rss.Items) != 1 {
		t.Fatalf("ReplicaSets: %v %v", rss, err)
	}
	if refs := rss.Items[0].OwnerReferences; len(refs) != 1 || refs[0].UID != dep.UID || refs[0].Controller == nil || !*refs[0].Controller {
		t.Errorf("ReplicaSet owners %+v, want the restored Deployment (uid %s)", refs, dep.UID)
	}
	cm, err := c.Client().CoreV1().ConfigMaps(ns).Get(ctx, "app-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := dynamicClient(t).Resource(gizmoGVR).Namespace(ns).Get(ctx, "g1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := g.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != cm.UID {
		t.Errorf("Gizmo owners %+v, want the restored ConfigMap (uid %s)", refs, cm.UID)
	}
}

package executor

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/manifest"
)

var (
	testSecretsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	testPostgresGVR = schema.GroupVersionResource{Group: manifest.KubeDBGroup, Version: "v1", Resource: "postgreses"}
)

func testManifestClients(objs ...runtime.Object) ManifestClients {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: manifest.KubeDBGroup, Version: "v1", Kind: "Postgres"}, meta.RESTScopeNamespace)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		testSecretsGVR: "SecretList", testPostgresGVR: "PostgresList",
	}, objs...)
	return ManifestClients{Dynamic: dyn, Mapper: mapper}
}

func testObject(apiVersion, kind, ns, name string, content map[string]any) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	for k, v := range content {
		obj.Object[k] = v
	}
	obj.SetNamespace(ns)
	obj.SetName(name)
	obj.SetUID(types.UID("uid-" + name))
	obj.SetResourceVersion("5")
	return obj
}

func TestParseManifestFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		comp    string
		want    ManifestSelector
		wantErr bool
	}{
		{in: "m=src/secrets/pg-auth", comp: "m", want: ManifestSelector{Namespace: "src", Resource: "secrets", Name: "pg-auth"}},
		{in: "m=src/postgreses.kubedb.com", comp: "m", want: ManifestSelector{Namespace: "src", Resource: "postgreses.kubedb.com"}},
		{in: "m=src", wantErr: true},
		{in: "=src/secrets", wantErr: true},
		{in: "m=src/secrets/", wantErr: true},
		{in: "m=src/secrets/a/b", wantErr: true},
	} {
		comp, sel, err := ParseManifestFlag(tc.in)
		if (err != nil) != tc.wantErr || comp != tc.comp || sel != tc.want {
			t.Errorf("ParseManifestFlag(%q) = %q, %+v, %v; want %q, %+v, error %t", tc.in, comp, sel, err, tc.comp, tc.want, tc.wantErr)
		}
	}
}

// The snapshot side dumps a Postgres and its Secrets; the restore side
// brings them back renamed into another namespace and reports the
// component, or fails naming an object in the way without touching it.
func TestManifestSnapshotAndRestore(t *testing.T) {
	source := []runtime.Object{
		testObject("v1", "Secret", "src", "pg-auth", map[string]any{"data": map[string]any{"password": "cGFzcw=="}}),
		testObject("v1", "Secret", "src", "pg-config", map[string]any{"data": map[string]any{"user.conf": "bWF4X2Nvbm5lY3Rpb25zPTk="}}),
		testObject("kubedb.com/v1", "Postgres", "src", "pg", map[string]any{
			"spec": map[string]any{
				"version":      "16.1",
				"authSecret":   map[string]any{"name": "pg-auth"},
				"configSecret": map[string]any{"name": "pg-config"},
			},
			"status": map[string]any{"phase": "Ready"},
		}),
	}
	inTheWay := testObject("v1", "Secret", "dst", "new-auth", map[string]any{"data": map[string]any{"password": "b3RoZXI="}})
	for _, tc := range []struct {
		name     string
		existing []runtime.Object
		wantErr  string
	}{
		{name: "into an empty namespace"},
		{name: "a differing object exists", existing: []runtime.Object{inTheWay}, wantErr: "Secret dst/new-auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			env := newKubeEnv(t, goodSecret)
			mc := testManifestClients(append(append([]runtime.Object{}, source...), tc.existing...)...)

			comps, err := DumpManifestComponents(ctx, mc, []ManifestComponent{{Name: "manifest", Selectors: []ManifestSelector{
				{Namespace: "src", Resource: "postgreses.kubedb.com"}, {Namespace: "src", Resource: "secrets", Name: "pg-auth"},
				{Namespace: "src", Resource: "secrets", Name: "pg-config"},
			}}}, t.TempDir())
			must(t, err)
			env.snapshot(t, ctx, comps...)

			rs := env.session(t)
			rs.Spec.ManifestOptions = &corev1alpha1.ManifestRestoreOptions{
				RestoreNamespace: "dst",
				Postgres:         &corev1alpha1.KubeDBManifestOptions{DBName: "new-pg", AuthSecretName: "new-auth", ConfigSecretName: "new-config"},
			}
			_, err = env.c.Restore.CoreV1alpha1().RestoreSessions(testNS).Update(ctx, rs, metav1.UpdateOptions{})
			must(t, err)

			err = RunManifestRestore(ctx, env.c, mc, env.runOpts(t, "manifest", ""))
			cs := env.session(t).Status.Components["manifest"]
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || Retryable(err) {
					t.Fatalf("RunManifestRestore = %v, want a permanent error naming %s", err, tc.wantErr)
				}
				if cs.Phase != corev1alpha1.RestoreFailed || !strings.Contains(cs.Error, tc.wantErr) {
					t.Errorf("component status %+v, want Failed naming %s", cs, tc.wantErr)
				}
				got, err := mc.Dynamic.Resource(testSecretsGVR).Namespace("dst").Get(ctx, "new-auth", metav1.GetOptions{})
				must(t, err)
				if got.GetResourceVersion() != "5" || got.Object["data"].(map[string]any)["password"] != "b3RoZXI=" {
					t.Errorf("the object in the way was modified: %v", got.Object)
				}
				return
			}
			if err != nil {
				t.Fatalf("RunManifestRestore: %v", err)
			}
			if cs.Phase != corev1alpha1.RestoreSucceeded || cs.Duration == "" || cs.Error != "" {
				t.Errorf("component status %+v, want Succeeded with a duration", cs)
			}
			pg, err := mc.Dynamic.Resource(testPostgresGVR).Namespace("dst").Get(ctx, "new-pg", metav1.GetOptions{})
			must(t, err)
			for path, want := range map[string]string{"spec.authSecret.name": "new-auth", "spec.configSecret.name": "new-config"} {
				if got, _, _ := unstructured.NestedString(pg.Object, strings.Split(path, ".")...); got != want {
					t.Errorf("restored Postgres %s = %q, want %q", path, got, want)
				}
			}
			if _, found := pg.Object["status"]; found || pg.GetUID() == "uid-pg" {
				t.Errorf("restored Postgres carries the source's status or uid: %v", pg.Object)
			}
			if got := pg.GetAnnotations()[manifest.AnnotationRestoredBy]; !strings.HasPrefix(got, testNS+"/"+testSession+"/") {
				t.Errorf("restored Postgres annotation %s = %q", manifest.AnnotationRestoredBy, got)
			}
			for _, name := range []string{"new-auth", "new-config"} {
				if _, err := mc.Dynamic.Resource(testSecretsGVR).Namespace("dst").Get(ctx, name, metav1.GetOptions{}); err != nil {
					t.Errorf("Secret dst/%s: %v", name, err)
				}
			}
			// A retried Job finds its own objects and succeeds again.
			if err := RunManifestRestore(ctx, env.c, mc, env.runOpts(t, "manifest", "")); err != nil {
				t.Errorf("retried RunManifestRestore: %v", err)
			}
		})
	}
}

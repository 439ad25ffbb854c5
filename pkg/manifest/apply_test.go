package manifest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

var (
	secretsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	postgresGVR  = schema.GroupVersionResource{Group: KubeDBGroup, Version: "v1", Resource: "postgreses"}
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

func newApplier(existing ...runtime.Object) *Applier {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: KubeDBGroup, Version: "v1", Kind: "Postgres"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		secretsGVR: "SecretList", postgresGVR: "PostgresList", namespaceGVR: "NamespaceList",
	}, existing...)
	return &Applier{Client: client, Mapper: mapper, FieldManager: "test"}
}

func plannedPostgres(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	out, err := Plan([]*unstructured.Unstructured{
		secret("src", "pg-auth"), database("Postgres", "src", "pg", "pg-auth", "", ""),
	}, optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{DBName: "pg2", AuthSecretName: "pg2-auth"}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestApply(t *testing.T) {
	const marker = "ns/rs/uid-1"
	differing := secret("dst", "pg2-auth")
	differing.Object["data"] = map[string]any{"password": "b3RoZXI="}
	differing = Strip(differing)
	identical := plannedPostgres(t)[0].DeepCopy()
	identical.Object["metadata"].(map[string]any)["uid"] = "server-side"
	identical.Object["immutable"] = false // a field only the server side has
	ours := plannedPostgres(t)[0].DeepCopy()
	ours.SetAnnotations(map[string]string{AnnotationRestoredBy: marker})
	ours.Object["data"] = map[string]any{"password": "Y2hhbmdlZCBsYXRlcg=="} // changed since: still ours
	otherRestore := ours.DeepCopy()
	otherRestore.SetAnnotations(map[string]string{AnnotationRestoredBy: "ns/other/uid-2"})

	cases := []struct {
		name        string
		existing    []runtime.Object
		wantCreated []string
		wantPresent []string
		wantErr     string
	}{{
		name:        "empty namespace",
		wantCreated: []string{"Secret dst/pg2-auth", "Postgres dst/pg2"},
	}, {
		name:        "a retry finds its own object",
		existing:    []runtime.Object{ours},
		wantCreated: []string{"Postgres dst/pg2"},
		wantPresent: []string{"Secret dst/pg2-auth"},
	}, {
		name:        "identical object exists",
		existing:    []runtime.Object{identical},
		wantCreated: []string{"Postgres dst/pg2"},
		wantPresent: []string{"Secret dst/pg2-auth"},
	}, {
		name:     "differing object exists",
		existing: []runtime.Object{differing},
		wantErr:  "object already exists in the restore namespace with different content: Secret dst/pg2-auth",
	}, {
		name:     "object of another restore with other content",
		existing: []runtime.Object{otherRestore},
		wantErr:  "Secret dst/pg2-auth",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newApplier(tc.existing...)
			res, err := a.Apply(context.Background(), plannedPostgres(t), marker)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrObjectExists) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Apply = %v, want ErrObjectExists naming %q", err, tc.wantErr)
				}
				got, gerr := a.Client.Resource(secretsGVR).Namespace("dst").Get(context.Background(), "pg2-auth", metav1.GetOptions{})
				if gerr != nil {
					t.Fatal(gerr)
				}
				want := tc.existing[0].(*unstructured.Unstructured)
				if !SameContent(got, want) || !SameContent(want, got) {
					t.Errorf("the existing object was modified: %v", got.Object)
				}
				if _, gerr := a.Client.Resource(postgresGVR).Namespace("dst").Get(context.Background(), "pg2", metav1.GetOptions{}); gerr == nil {
					t.Errorf("the database was created although its Secret could not be")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Created, tc.wantCreated) || !slices.Equal(res.Present, tc.wantPresent) {
				t.Errorf("Apply = created %v present %v, want created %v present %v", res.Created, res.Present, tc.wantCreated, tc.wantPresent)
			}
			pg, err := a.Client.Resource(postgresGVR).Namespace("dst").Get(context.Background(), "pg2", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pg.GetAnnotations()[AnnotationRestoredBy]; got != marker {
				t.Errorf("created object has %s=%q, want %q", AnnotationRestoredBy, got, marker)
			}
			// Idempotent: applying again creates nothing and fails nothing.
			again, err := a.Apply(context.Background(), plannedPostgres(t), marker)
			if err != nil || len(again.Created) != 0 || len(again.Present) != 2 {
				t.Errorf("second Apply = %+v, %v; want both objects present", again, err)
			}
		})
	}
}

func TestApplyRefusesClusterScoped(t *testing.T) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "x", "namespace": "dst"}}}
	_, err := newApplier().Apply(context.Background(), []*unstructured.Unstructured{ns}, "m")
	if err == nil || !strings.Contains(err.Error(), "is not namespaced") {
		t.Errorf("Apply of a Namespace = %v, want a refusal", err)
	}
}

func TestSameContent(t *testing.T) {
	base := Strip(secret("dst", "a"))
	cases := []struct {
		name   string
		mutate func(o *unstructured.Unstructured)
		want   bool
	}{
		{"identical", func(*unstructured.Unstructured) {}, true},
		{"server adds fields", func(o *unstructured.Unstructured) { o.Object["immutable"] = false; o.SetUID("u") }, true},
		{"data differs", func(o *unstructured.Unstructured) { o.Object["data"] = map[string]any{"password": "eA=="} }, false},
		{"extra data key", func(o *unstructured.Unstructured) { o.Object["data"].(map[string]any)["more"] = "eA==" }, false},
		{"extra spec field", func(o *unstructured.Unstructured) { o.Object["spec"] = map[string]any{"defaulted": true} }, true},
		{"label missing", func(o *unstructured.Unstructured) { o.SetLabels(nil) }, false},
		{"type differs", func(o *unstructured.Unstructured) { o.Object["type"] = "kubernetes.io/tls" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			existing := base.DeepCopy()
			tc.mutate(existing)
			if got := SameContent(existing, base); got != tc.want {
				t.Errorf("SameContent = %v, want %v", got, tc.want)
			}
		})
	}
}

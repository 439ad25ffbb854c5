package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
)

var (
	gvrNamespaces  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrConfigMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrReplicaSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	gvrCRDs        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	gvrWidgets     = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	widgetGVK      = schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
)

// crdMapper knows Widgets only once their CRD exists in the fake cluster,
// and only after a Reset, like a discovery-backed mapper.
type crdMapper struct {
	*meta.DefaultRESTMapper
	client *dynamicfake.FakeDynamicClient
	served bool
	resets int
}

func (m *crdMapper) Reset() {
	m.resets++
	if _, err := m.client.Tracker().Get(gvrCRDs, "", "widgets.example.com"); err == nil && !m.served {
		m.served = true
		m.Add(widgetGVK, meta.RESTScopeNamespace)
	}
}

// fakeCluster is a dynamic fake that behaves like an API server where it
// matters here: UIDs and resource versions on create, namespaced creates
// fail while their namespace is missing, and a forced apply bumps the
// resource version only when it changes something.
func fakeCluster(t *testing.T, existing ...runtime.Object) (*dynamicfake.FakeDynamicClient, *crdMapper) {
	t.Helper()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gvrNamespaces: "NamespaceList", gvrConfigMaps: "ConfigMapList", gvrDeployments: "DeploymentList",
		gvrReplicaSets: "ReplicaSetList", gvrCRDs: "CustomResourceDefinitionList", gvrWidgets: "WidgetList",
	}, existing...)
	mapper := &crdMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper(nil), client: client}
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot)

	uids := 0
	client.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		ca := a.(clienttesting.CreateAction)
		obj := ca.GetObject().(*unstructured.Unstructured)
		if ns := ca.GetNamespace(); ns != "" {
			if _, err := client.Tracker().Get(gvrNamespaces, "", ns); err != nil {
				return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
			}
		}
		if obj.GetUID() != "" || obj.GetResourceVersion() != "" {
			t.Errorf("%s created with uid %q resourceVersion %q", describe(obj), obj.GetUID(), obj.GetResourceVersion())
		}
		uids++
		obj.SetUID(types.UID(fmt.Sprintf("new-uid-%d", uids)))
		obj.SetResourceVersion("1")
		return false, nil, nil // the tracker stores it
	})
	client.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		pa := a.(clienttesting.PatchAction)
		if pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		cur, err := client.Tracker().Get(pa.GetResource(), pa.GetNamespace(), pa.GetName())
		if err != nil {
			return true, nil, err
		}
		existing := cur.(*unstructured.Unstructured)
		applied := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(pa.GetPatch(), &applied.Object); err != nil {
			return true, nil, err
		}
		if SameContent(existing, applied) {
			return true, existing, nil
		}
		merged := existing.DeepCopy()
		for k, v := range applied.Object {
			if k != "metadata" {
				merged.Object[k] = v
			}
		}
		rv, _ := strconv.Atoi(existing.GetResourceVersion())
		merged.SetResourceVersion(strconv.Itoa(rv + 1))
		return true, merged, client.Tracker().Update(pa.GetResource(), merged, pa.GetNamespace())
	})
	return client, mapper
}

func withOwner(o Object, apiVersion, kind, name string) Object {
	o.Obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: "old-owner-uid", Controller: ptrTrue()}})
	return o
}

func ptrTrue() *bool { b := true; return &b }

// backup is the resource tree of a namespace with a CRD and a custom
// resource, a Deployment owning a ReplicaSet, ConfigMaps, and an object
// owned by something not in the backup.
func backup() []Object {
	return []Object{
		obj("namespaces", "v1", "Namespace", "", "demo", nil, nil),
		obj("customresourcedefinitions.apiextensions.k8s.io", "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", nil, nil),
		withOwner(obj("widgets.example.com", "example.com/v1", "Widget", "demo", "w", nil, map[string]any{"spec": map[string]any{"size": int64(3)}}), "v1", "ConfigMap", "cfg"),
		obj("deployments.apps", "apps/v1", "Deployment", "demo", "web", nil, map[string]any{"spec": map[string]any{"replicas": int64(1)}}),
		withOwner(obj("replicasets.apps", "apps/v1", "ReplicaSet", "demo", "web-1", nil, nil), "apps/v1", "Deployment", "web"),
		obj("configmaps", "v1", "ConfigMap", "demo", "cfg", nil, map[string]any{"data": map[string]any{"k": "v"}}),
		withOwner(obj("configmaps", "v1", "ConfigMap", "demo", "orphan", nil, nil), "v1", "Secret", "not-in-backup"),
	}
}

func TestClusterRestore(t *testing.T) {
	changedCfg := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "cfg", "namespace": "demo", "uid": "live-cfg", "resourceVersion": "7"},
		"data":     map[string]any{"k": "changed"},
	}}
	liveNS := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "demo", "uid": "live-ns", "resourceVersion": "3"},
	}}
	all := []string{
		"customresourcedefinitions.apiextensions.k8s.io widgets.example.com", "namespaces demo",
		"configmaps demo/cfg", "configmaps demo/orphan", "replicasets.apps demo/web-1", "deployments.apps demo/web", "widgets.example.com demo/w",
	}
	cases := []struct {
		name         string
		params       map[string]string
		existing     []runtime.Object
		wantCreated  []string
		wantExisted  []string
		wantUpdated  []string
		wantFailed   []string
		wantSkipped  int
		wantCfgData  string
		wantRelinked int
	}{{
		name:         "empty cluster, cluster resources included",
		params:       map[string]string{ParamIncludeClusterResources: "true"},
		wantCreated:  all,
		wantCfgData:  "v",
		wantRelinked: 2, // the ReplicaSet to the Deployment, the Widget to the ConfigMap
	}, {
		name:        "without cluster resources the custom resource misses its CRD",
		params:      nil,
		wantCreated: []string{"namespaces demo", "configmaps demo/cfg", "configmaps demo/orphan", "replicasets.apps demo/web-1", "deployments.apps demo/web"},
		wantFailed:  []string{"widgets.example.com demo/w"},
		wantSkipped: 1, wantCfgData: "v", wantRelinked: 1,
	}, {
		name:         "existing objects are left alone",
		params:       map[string]string{ParamIncludeClusterResources: "true"},
		existing:     []runtime.Object{changedCfg.DeepCopy(), liveNS.DeepCopy()},
		wantCreated:  []string{"customresourcedefinitions.apiextensions.k8s.io widgets.example.com", "configmaps demo/orphan", "replicasets.apps demo/web-1", "deployments.apps demo/web", "widgets.example.com demo/w"},
		wantExisted:  []string{"namespaces demo", "configmaps demo/cfg"},
		wantCfgData:  "changed",
		wantRelinked: 2, // the Widget to the live ConfigMap's UID
	}, {
		name:         "OverrideResources updates what differs",
		params:       map[string]string{ParamIncludeClusterResources: "true", ParamOverrideResources: "true"},
		existing:     []runtime.Object{changedCfg.DeepCopy(), liveNS.DeepCopy()},
		wantCreated:  []string{"customresourcedefinitions.apiextensions.k8s.io widgets.example.com", "configmaps demo/orphan", "replicasets.apps demo/web-1", "deployments.apps demo/web", "widgets.example.com demo/w"},
		wantExisted:  []string{"namespaces demo"},
		wantUpdated:  []string{"configmaps demo/cfg"},
		wantCfgData:  "v",
		wantRelinked: 2,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := ParseClusterOptions(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			client, mapper := fakeCluster(t, tc.existing...)
			r := &ClusterRestorer{Client: client, Mapper: mapper, FieldManager: "test", MaxPasses: 3}
			res := r.Restore(context.Background(), backup(), opts)
			var failed []string
			for _, f := range res.Failed {
				failed = append(failed, f.Object)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"created", res.Created, tc.wantCreated}, {"existed", res.Existed, tc.wantExisted}, {"updated", res.Updated, tc.wantUpdated}, {"failed", failed, tc.wantFailed}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s:\n%v\nwant\n%v", c.what, c.got, c.want)
				}
			}
			if len(res.Skipped) != tc.wantSkipped {
				t.Errorf("skipped %v, want %d", res.Skipped, tc.wantSkipped)
			}
			if res.Relinked != tc.wantRelinked {
				t.Errorf("relinked %d, want %d", res.Relinked, tc.wantRelinked)
			}
			cfg, err := client.Resource(gvrConfigMaps).Namespace("demo").Get(context.Background(), "cfg", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := unstructured.NestedString(cfg.Object, "data", "k"); got != tc.wantCfgData {
				t.Errorf("ConfigMap cfg data.k = %q, want %q", got, tc.wantCfgData)
			}

			// Owners are re-linked to live UIDs of this restore's objects.
			dep, err := client.Resource(gvrDeployments).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := client.Resource(gvrReplicaSets).Namespace("demo").Get(context.Background(), "web-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if refs := rs.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != dep.GetUID() || refs[0].Name != "web" || refs[0].Controller == nil || !*refs[0].Controller {
				t.Errorf("ReplicaSet owners %+v, want the Deployment's live UID %q", refs, dep.GetUID())
			}
			if w, err := client.Resource(gvrWidgets).Namespace("demo").Get(context.Background(), "w", metav1.GetOptions{}); err == nil {
				if refs := w.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != cfg.GetUID() {
					t.Errorf("Widget owners %+v, want the ConfigMap's live UID %q", refs, cfg.GetUID())
				}
			}
			orphan, err := client.Resource(gvrConfigMaps).Namespace("demo").Get(context.Background(), "orphan", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if refs := orphan.GetOwnerReferences(); len(refs) != 0 {
				t.Errorf("ConfigMap orphan keeps owners %+v whose owner was not restored", refs)
			}

			// A second restore finds every restored object and changes nothing.
			before := snapshotObjects(t, client)
			again := r.Restore(context.Background(), backup(), opts)
			wantAgain := append(append(append([]string{}, tc.wantCreated...), tc.wantExisted...), tc.wantUpdated...)
			slices.Sort(wantAgain)
			gotAgain := slices.Clone(again.Existed)
			slices.Sort(gotAgain)
			if !slices.Equal(gotAgain, wantAgain) || len(again.Created)+len(again.Updated) != 0 || again.Relinked != 0 {
				t.Errorf("second restore: created %v updated %v existed %v relinked %d; want all of %v existing",
					again.Created, again.Updated, again.Existed, again.Relinked, wantAgain)
			}
			if after := snapshotObjects(t, client); !reflect.DeepEqual(before, after) {
				t.Errorf("the second restore changed objects")
			}
		})
	}
}

// snapshotObjects lists every object of the fake cluster's resources.
func snapshotObjects(t *testing.T, client *dynamicfake.FakeDynamicClient) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, gvr := range []schema.GroupVersionResource{gvrNamespaces, gvrConfigMaps, gvrDeployments, gvrReplicaSets, gvrCRDs, gvrWidgets} {
		list, err := client.Resource(gvr).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out[gvr.Resource+"/"+o.GetNamespace()+"/"+o.GetName()] = o.Object
		}
	}
	return out
}

func TestClusterResultErr(t *testing.T) {
	res := ClusterResult{Created: []string{"a"}, Existed: []string{"b", "c"}, Skipped: []Skipped{{}}}
	if err := res.Err(); err != nil {
		t.Fatalf("Err without failures = %v", err)
	}
	for i := range 5 {
		res.Failed = append(res.Failed, Failure{Object: fmt.Sprintf("configmaps demo/f%d", i), Err: errors.New("boom")})
	}
	err := res.Err()
	if !errors.Is(err, ErrObjectsFailed) {
		t.Fatalf("Err = %v, want ErrObjectsFailed", err)
	}
	want := "5 of 8 objects failed to restore (created 1, already existed 2, updated 0, skipped 1, failed 5): " +
		"configmaps demo/f0: boom; configmaps demo/f1: boom; configmaps demo/f2: boom; and 2 more"
	if err.Error() != want {
		t.Errorf("Err =\n%s\nwant\n%s", err, want)
	}
}

func TestMissingDependency(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "demo"), true},
		{fmt.Errorf("wrapped: %w", &meta.NoKindMatchError{GroupKind: widgetGVK.GroupKind()}), true},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New(`error looking up service account demo/sa: serviceaccount "sa" not found`)), true},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("no")), false},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p", nil), false},
		{apierrors.NewTooManyRequests("slow down", 1), true},
	}
	for _, tc := range cases {
		if got := missingDependency(tc.err); got != tc.want {
			t.Errorf("missingDependency(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// The Addon declares every param the executor reads, with KubeStash's
// defaults, and its Function passes each as the flag of its name.
func TestKubedumpAddonDeclaresParams(t *testing.T) {
	raw, err := os.ReadFile("../../artifacts/addons/kubedump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(raw), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("kubedump.yaml holds %d documents, want the Addon and the Function", len(docs))
	}
	// Strict: a field the API types do not have would be dropped by the
	// API server.
	var addon addonsv1alpha1.Addon
	var fn addonsv1alpha1.Function
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &addon); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &fn); err != nil {
		t.Fatal(err)
	}
	if addon.Name != "kubedump-addon" || len(addon.Spec.RestoreTasks) != 1 || addon.Spec.RestoreTasks[0].Name != "manifest-restore" ||
		addon.Spec.RestoreTasks[0].Function != fn.Name || fn.Name != "kubedump-restore" {
		t.Fatalf("addon %+v, function %q: want kubedump-addon/manifest-restore running kubedump-restore", addon, fn.Name)
	}
	defaults := map[string]string{}
	for _, p := range addon.Spec.RestoreTasks[0].Parameters {
		defaults[p.Name] = p.Default
	}
	kubeStashDefaults := map[string]string{
		ParamIncludeClusterResources: "false", ParamOverrideResources: "false", ParamRestorePVs: "false",
		ParamIncludeNamespaces: "", ParamExcludeNamespaces: "", ParamIncludeResources: "", ParamExcludeResources: "",
		ParamANDedLabelSelectors: "", ParamORedLabelSelectors: "", ParamStorageClassMappings: "",
	}
	for _, p := range ClusterParams {
		want, known := kubeStashDefaults[p]
		got, declared := defaults[p]
		if !known || !declared || got != want {
			t.Errorf("param %s: declared %v default %q, want %q", p, declared, got, want)
		}
		flag := fmt.Sprintf("--%s=${%s:=%s}", p, p, want)
		if !slices.Contains(fn.Spec.Args, flag) {
			t.Errorf("Function args %v lack %q", fn.Spec.Args, flag)
		}
	}
	if !slices.Contains(fn.Spec.Args, "--kubedump") || fn.Spec.Args[0] != "restore-manifests" {
		t.Errorf("Function args %v: want restore-manifests --kubedump", fn.Spec.Args)
	}
}

package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// obj is an object of resource gr ("deployments.apps") as the API returns
// it; ns "" makes it cluster-scoped. Extra fields are merged in.
func obj(gr, apiVersion, kind, ns, name string, labels map[string]any, extra map[string]any) Object {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{
			"name": name, "uid": "old-uid-" + name, "resourceVersion": "9", "generation": int64(2),
			"creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": []any{map[string]any{"manager": "x"}},
		},
		"status": map[string]any{"observed": true},
	}}
	if ns != "" {
		o.SetNamespace(ns)
	}
	if labels != nil {
		o.Object["metadata"].(map[string]any)["labels"] = labels
	}
	for k, v := range extra {
		o.Object[k] = v
	}
	return Object{Resource: schema.ParseGroupResource(gr), Obj: o}
}

func TestParseClusterOptions(t *testing.T) {
	cases := []struct {
		name    string
		params  map[string]string
		want    ClusterOptions
		wantErr string
	}{{
		name: "defaults",
		want: ClusterOptions{},
	}, {
		name: "docs filtering example",
		params: map[string]string{
			ParamIncludeClusterResources: "true", ParamExcludeNamespaces: "demo-a", ParamIncludeResources: "*",
			ParamExcludeResources:  "nodes.metrics.k8s.io,nodes,pods.metrics.k8s.io,endpointslices.discovery.k8s.io",
			ParamOverrideResources: "true", ParamRestorePVs: "true",
		},
		want: ClusterOptions{
			Filter: Filter{IncludeClusterResources: true, ExcludeNamespaces: []string{"demo-a"}, IncludeResources: []string{"*"},
				ExcludeResources: []string{"nodes.metrics.k8s.io", "nodes", "pods.metrics.k8s.io", "endpointslices.discovery.k8s.io"}},
			OverrideResources: true, RestorePVs: true,
		},
	}, {
		name: "label selectors in all three spellings",
		params: map[string]string{
			ParamANDedLabelSelectors: "app=web, tier:front", ParamORedLabelSelectors: "canary",
			ParamStorageClassMappings: "standard=fast, old = new",
		},
		want: ClusterOptions{
			Filter: Filter{
				ANDedLabelSelectors: []LabelRequirement{{Key: "app", Value: "web"}, {Key: "tier", Value: "front"}},
				ORedLabelSelectors:  []LabelRequirement{{Key: "canary", AnyValue: true}},
			},
			StorageClassMappings: map[string]string{"standard": "fast", "old": "new"},
		},
	}, {
		name:    "boolean not true or false",
		params:  map[string]string{ParamOverrideResources: "yes"},
		wantErr: `param OverrideResources: "yes" is not true or false`,
	}, {
		name:    "bad namespace",
		params:  map[string]string{ParamIncludeNamespaces: "ok,Not_OK"},
		wantErr: `param IncludeNamespaces: "Not_OK" is not a namespace name`,
	}, {
		name:    "bad label key",
		params:  map[string]string{ParamORedLabelSelectors: "a b=c"},
		wantErr: `param ORedLabelSelectors: "a b=c": label key`,
	}, {
		name:    "mapping without new name",
		params:  map[string]string{ParamStorageClassMappings: "standard="},
		wantErr: `param StorageClassMappings: "standard=": want old=new`,
	}, {
		name:    "mapping twice",
		params:  map[string]string{ParamStorageClassMappings: "a=b,a=c"},
		wantErr: `param StorageClassMappings: "a" is mapped to both "b" and "c"`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseClusterOptions(tc.params)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseClusterOptions = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseClusterOptions =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	deploy := obj("deployments.apps", "apps/v1", "Deployment", "demo", "web", map[string]any{"app": "web", "tier": "front"}, nil)
	cm := obj("configmaps", "v1", "ConfigMap", "demo-a", "cfg", map[string]any{"app": "db"}, nil)
	crd := obj("customresourcedefinitions.apiextensions.k8s.io", "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", nil, nil)
	parse := func(params map[string]string) Filter {
		o, err := ParseClusterOptions(params)
		if err != nil {
			t.Fatal(err)
		}
		return o.Filter
	}
	cases := []struct {
		name    string
		params  map[string]string
		obj     Object
		want    bool
		wantWhy string
	}{
		{"defaults take namespaced objects", nil, deploy, true, ""},
		{"defaults leave cluster-scoped out", nil, crd, false, "cluster-scoped"},
		{"IncludeClusterResources", map[string]string{ParamIncludeClusterResources: "true"}, crd, true, ""},
		{"namespace included", map[string]string{ParamIncludeNamespaces: "demo,other"}, deploy, true, ""},
		{"namespace not included", map[string]string{ParamIncludeNamespaces: "other"}, deploy, false, "namespace demo is not included"},
		{"namespace excluded", map[string]string{ParamExcludeNamespaces: "demo-a"}, cm, false, "namespace demo-a"},
		{"exclude wins over include", map[string]string{ParamIncludeNamespaces: "*", ParamExcludeNamespaces: "demo"}, deploy, false, "namespace demo"},
		{"resource with group", map[string]string{ParamIncludeResources: "deployments.apps"}, deploy, true, ""},
		{"resource without group", map[string]string{ParamIncludeResources: "deployments"}, deploy, true, ""},
		{"kind", map[string]string{ParamIncludeResources: "Deployment"}, deploy, true, ""},
		{"resource of another group", map[string]string{ParamIncludeResources: "deployments.extensions"}, deploy, false, "resource deployments.apps"},
		{"resource excluded", map[string]string{ParamExcludeResources: "configmaps"}, cm, false, "resource configmaps"},
		{"star includes", map[string]string{ParamIncludeResources: "*", ParamExcludeResources: "secrets"}, cm, true, ""},
		{"ANDed all match", map[string]string{ParamANDedLabelSelectors: "app=web,tier:front"}, deploy, true, ""},
		{"ANDed one fails", map[string]string{ParamANDedLabelSelectors: "app=web,tier=back"}, deploy, false, "labels"},
		{"ANDed key only", map[string]string{ParamANDedLabelSelectors: "tier"}, deploy, true, ""},
		{"ORed one matches", map[string]string{ParamORedLabelSelectors: "app=nope,tier=front"}, deploy, true, ""},
		{"ORed none matches", map[string]string{ParamORedLabelSelectors: "app=nope,team"}, deploy, false, "labels"},
		{"ANDed and ORed both hold", map[string]string{ParamANDedLabelSelectors: "app=web", ParamORedLabelSelectors: "x,tier=front"}, deploy, true, ""},
		{"ANDed holds, ORed not", map[string]string{ParamANDedLabelSelectors: "app=web", ParamORedLabelSelectors: "x"}, deploy, false, "labels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(tc.params)
			got, why := f.Match(tc.obj)
			if got != tc.want || !strings.Contains(why, tc.wantWhy) {
				t.Errorf("Match(%s) = %v %q, want %v %q", tc.obj, got, why, tc.want, tc.wantWhy)
			}
		})
	}
}

func strs(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	return out
}

func TestSelectAndOrder(t *testing.T) {
	objs := []Object{
		obj("widgets.example.com", "example.com/v1", "Widget", "demo", "w", nil, nil),
		obj("rolebindings.rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "RoleBinding", "demo", "rb", nil, nil),
		obj("deployments.apps", "apps/v1", "Deployment", "demo", "web", map[string]any{"app": "web"}, nil),
		obj("services", "v1", "Service", "demo", "web", map[string]any{"app": "web"}, nil),
		obj("pods", "v1", "Pod", "demo", "running", nil, map[string]any{"status": map[string]any{"phase": "Running"}}),
		obj("pods", "v1", "Pod", "demo", "done", nil, map[string]any{"status": map[string]any{"phase": "Succeeded"}}),
		obj("jobs.batch", "batch/v1", "Job", "demo", "finished", nil, map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}),
		obj("jobs.batch", "batch/v1", "Job", "demo", "active", nil, map[string]any{"status": map[string]any{"active": int64(1)}}),
		obj("replicasets.apps", "apps/v1", "ReplicaSet", "demo", "web-1", nil, nil),
		obj("configmaps", "v1", "ConfigMap", "demo", "b", nil, nil),
		obj("configmaps", "v1", "ConfigMap", "demo", "a", nil, nil),
		obj("secrets", "v1", "Secret", "demo", "s", nil, nil),
		obj("serviceaccounts", "v1", "ServiceAccount", "demo", "sa", nil, nil),
		obj("persistentvolumeclaims", "v1", "PersistentVolumeClaim", "demo", "data", nil, nil),
		obj("persistentvolumes", "v1", "PersistentVolume", "", "pv-1", nil, nil),
		obj("namespaces", "v1", "Namespace", "", "demo", nil, nil),
		obj("namespaces", "v1", "Namespace", "", "empty", nil, nil),
		obj("customresourcedefinitions.apiextensions.k8s.io", "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", nil, nil),
		obj("storageclasses.storage.k8s.io", "storage.k8s.io/v1", "StorageClass", "", "fast", nil, nil),
		obj("events", "v1", "Event", "demo", "e", nil, nil),
		obj("endpointslices.discovery.k8s.io", "discovery.k8s.io/v1", "EndpointSlice", "demo", "es", nil, nil),
		obj("nodes", "v1", "Node", "", "n1", nil, nil),
		obj("restoresessions.core.kubestash.com", "core.kubestash.com/v1alpha1", "RestoreSession", "demo", "rs", nil, nil),
		obj("endpoints", "v1", "Endpoints", "demo", "web", nil, nil),
	}
	cases := []struct {
		name     string
		params   map[string]string
		want     []string
		wantSkip map[string]string // object: reason substring
	}{{
		name:   "cluster resources and PVs",
		params: map[string]string{ParamIncludeClusterResources: "true", ParamRestorePVs: "true"},
		want: []string{
			"customresourcedefinitions.apiextensions.k8s.io widgets.example.com",
			"namespaces demo", "namespaces empty",
			"storageclasses.storage.k8s.io fast",
			"persistentvolumes pv-1",
			"persistentvolumeclaims demo/data",
			"serviceaccounts demo/sa",
			"secrets demo/s",
			"configmaps demo/a", "configmaps demo/b",
			"pods demo/running",
			"replicasets.apps demo/web-1",
			"endpoints demo/web",
			"services demo/web",
			"deployments.apps demo/web",
			"jobs.batch demo/active",
			"rolebindings.rbac.authorization.k8s.io demo/rb",
			"widgets.example.com demo/w",
		},
		wantSkip: map[string]string{
			"pods demo/done": "finished", "jobs.batch demo/finished": "finished",
			"events demo/e": "never restored", "endpointslices.discovery.k8s.io demo/es": "never restored",
			"nodes n1": "never restored", "restoresessions.core.kubestash.com demo/rs": "never restored",
		},
	}, {
		name:   "namespaced only: PVs need both params, namespace of taken objects kept",
		params: map[string]string{ParamRestorePVs: "true", ParamIncludeResources: "configmaps"},
		want:   []string{"namespaces demo", "configmaps demo/a", "configmaps demo/b"},
		wantSkip: map[string]string{
			"persistentvolumes pv-1": "cluster-scoped", "secrets demo/s": "resource secrets is not included",
			"customresourcedefinitions.apiextensions.k8s.io widgets.example.com": "cluster-scoped",
		},
	}, {
		name:     "RestorePVs false",
		params:   map[string]string{ParamIncludeClusterResources: "true", ParamIncludeResources: "persistentvolumes"},
		want:     nil,
		wantSkip: map[string]string{"persistentvolumes pv-1": "RestorePVs is not true", "namespaces demo": "resource namespaces"},
	}, {
		name:     "label selector leaves a namespace with nothing out",
		params:   map[string]string{ParamANDedLabelSelectors: "app=web"},
		want:     []string{"namespaces demo", "services demo/web", "deployments.apps demo/web"},
		wantSkip: map[string]string{"configmaps demo/a": "labels"},
	}, {
		name:     "excluded namespace",
		params:   map[string]string{ParamExcludeNamespaces: "demo", ParamIncludeClusterResources: "true"},
		want:     []string{"customresourcedefinitions.apiextensions.k8s.io widgets.example.com", "namespaces empty", "storageclasses.storage.k8s.io fast"},
		wantSkip: map[string]string{"namespaces demo": "namespace demo is not included", "secrets demo/s": "namespace demo"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseClusterOptions(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			take, skip := Select(objs, o)
			if got := strs(take); !slices.Equal(got, tc.want) {
				t.Errorf("taken:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(take)+len(skip) != len(objs) {
				t.Errorf("taken %d + skipped %d != %d objects", len(take), len(skip), len(objs))
			}
			reasons := map[string]string{}
			for _, s := range skip {
				reasons[s.Object.String()] = s.Reason
			}
			for o, want := range tc.wantSkip {
				got, ok := reasons[o]
				if !ok || !strings.Contains(got, want) {
					t.Errorf("%s skipped=%v reason %q, want skipped with %q", o, ok, got, want)
				}
			}
		})
	}
}

func TestPrepareForCreate(t *testing.T) {
	owned := map[string]any{"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "x"}}}
	withMeta := func(o Object, m map[string]any) Object {
		for k, v := range m {
			o.Obj.Object["metadata"].(map[string]any)[k] = v
		}
		return o
	}
	cases := []struct {
		name   string
		obj    Object
		opts   ClusterOptions
		keepPV bool
		want   map[string]any // path (dot-separated) to value; nil value: absent
	}{{
		name: "pod",
		obj: withMeta(obj("pods", "v1", "Pod", "demo", "p", nil, map[string]any{"spec": map[string]any{"nodeName": "n1", "containers": []any{}}}),
			map[string]any{"generateName": "p-", "finalizers": []any{"f"}, "ownerReferences": owned["ownerReferences"]}),
		want: map[string]any{
			"spec.nodeName": nil, "spec.containers": []any{}, "metadata.generateName": nil, "metadata.uid": nil,
			"metadata.resourceVersion": nil, "metadata.generation": nil, "metadata.creationTimestamp": nil,
			"metadata.managedFields": nil, "metadata.ownerReferences": nil, "status": nil, "metadata.name": "p",
		},
	}, {
		name: "service with cluster IP and node ports",
		obj: obj("services", "v1", "Service", "demo", "s", nil, map[string]any{"spec": map[string]any{
			"type": "NodePort", "clusterIP": "10.0.0.5", "clusterIPs": []any{"10.0.0.5"},
			"ports": []any{map[string]any{"port": int64(80), "nodePort": int64(30080)}},
		}}),
		want: map[string]any{"spec.clusterIP": nil, "spec.clusterIPs": nil, "spec.ports": []any{map[string]any{"port": int64(80)}}, "spec.type": "NodePort"},
	}, {
		name: "headless service keeps None",
		obj: obj("services", "v1", "Service", "demo", "h", nil, map[string]any{"spec": map[string]any{
			"clusterIP": "None", "clusterIPs": []any{"None"}}}),
		want: map[string]any{"spec.clusterIP": "None", "spec.clusterIPs": []any{"None"}},
	}, {
		name: "claim loses its volume and binding, class mapped",
		obj: withMeta(obj("persistentvolumeclaims", "v1", "PersistentVolumeClaim", "demo", "c", nil, map[string]any{"spec": map[string]any{
			"volumeName": "pv-1", "storageClassName": "standard"}}),
			map[string]any{"annotations": map[string]any{"pv.kubernetes.io/bind-completed": "yes", "keep": "me"}}),
		opts: ClusterOptions{StorageClassMappings: map[string]string{"standard": "fast"}},
		want: map[string]any{"spec.volumeName": nil, "spec.storageClassName": "fast",
			"metadata.annotations": map[string]any{"keep": "me"}},
	}, {
		name:   "claim keeps the volume restored with it",
		obj:    obj("persistentvolumeclaims", "v1", "PersistentVolumeClaim", "demo", "c", nil, map[string]any{"spec": map[string]any{"volumeName": "pv-1", "storageClassName": "other"}}),
		opts:   ClusterOptions{StorageClassMappings: map[string]string{"standard": "fast"}},
		keepPV: true,
		want:   map[string]any{"spec.volumeName": "pv-1", "spec.storageClassName": "other"},
	}, {
		name: "volume's claimRef loses its uid",
		obj: obj("persistentvolumes", "v1", "PersistentVolume", "", "pv-1", nil, map[string]any{"spec": map[string]any{
			"storageClassName": "standard",
			"claimRef":         map[string]any{"namespace": "demo", "name": "c", "uid": "u", "resourceVersion": "3"}}}),
		opts: ClusterOptions{StorageClassMappings: map[string]string{"standard": "fast"}},
		want: map[string]any{"spec.claimRef": map[string]any{"namespace": "demo", "name": "c"}, "spec.storageClassName": "fast"},
	}, {
		name: "job loses its generated selector",
		obj: obj("jobs.batch", "batch/v1", "Job", "demo", "j", nil, map[string]any{"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"batch.kubernetes.io/controller-uid": "u"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
				"batch.kubernetes.io/controller-uid": "u", "controller-uid": "u", "job-name": "j"}}}}}),
		want: map[string]any{"spec.selector": nil, "spec.template.metadata.labels": map[string]any{"job-name": "j"}},
	}, {
		name: "job with a manual selector keeps it",
		obj: obj("jobs.batch", "batch/v1", "Job", "demo", "j", nil, map[string]any{"spec": map[string]any{
			"manualSelector": true, "selector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}}),
		want: map[string]any{"spec.selector": map[string]any{"matchLabels": map[string]any{"a": "b"}}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.obj.Obj.DeepCopy()
			got := PrepareForCreate(tc.obj, tc.opts, func(string) bool { return tc.keepPV })
			for path, want := range tc.want {
				v, found, err := unstructured.NestedFieldNoCopy(got.Object, strings.Split(path, ".")...)
				if err != nil {
					t.Fatal(err)
				}
				if want == nil {
					if found {
						t.Errorf("%s = %v, want it dropped", path, v)
					}
					continue
				}
				if !reflect.DeepEqual(v, want) {
					t.Errorf("%s = %#v, want %#v", path, v, want)
				}
			}
			if !reflect.DeepEqual(before, tc.obj.Obj) {
				t.Errorf("PrepareForCreate modified its input")
			}
		})
	}
}

func TestResourceTreeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	objs := []Object{
		obj("configmaps", "v1", "ConfigMap", "demo", "cfg", nil, map[string]any{"data": map[string]any{"k": "v"}}),
		obj("deployments.apps", "apps/v1", "Deployment", "demo", "web", nil, map[string]any{"spec": map[string]any{"replicas": int64(2)}}),
		obj("namespaces", "v1", "Namespace", "", "demo", nil, nil),
	}
	if err := WriteResourceTree(dir, objs); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"configmaps/namespaces/demo/cfg.yaml", "deployments.apps/namespaces/demo/web.yaml", "namespaces/cluster/demo.yaml"} {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("layout: %v", err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", rel, st.Mode().Perm())
		}
	}
	got, err := ReadResourceTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"configmaps demo/cfg", "deployments.apps demo/web", "namespaces demo"}; !slices.Equal(strs(got), want) {
		t.Fatalf("read %v, want %v", strs(got), want)
	}
	if _, found := got[1].Obj.Object["metadata"].(map[string]any)["managedFields"]; found {
		t.Errorf("managedFields were stored")
	}
	if r, _, _ := unstructured.NestedInt64(got[1].Obj.Object, "spec", "replicas"); r != 2 {
		t.Errorf("spec.replicas = %d after the round trip, want 2", r)
	}
}

func TestReadResourceTreeRefuses(t *testing.T) {
	cm := func(ns, name string) []byte {
		b, _ := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns}})
		return b
	}
	cases := []struct {
		name    string
		files   map[string][]byte
		wantErr string
	}{
		{"object under another name", map[string][]byte{"configmaps/namespaces/demo/a.yaml": cm("demo", "b")}, "does not belong there"},
		{"object in another namespace", map[string][]byte{"configmaps/namespaces/demo/a.yaml": cm("other", "a")}, "does not belong there"},
		{"namespaced object under cluster", map[string][]byte{"configmaps/cluster/a.yaml": cm("demo", "a")}, "does not belong there"},
		{"deep directory", map[string][]byte{"configmaps/namespaces/demo/x/a.yaml": cm("demo", "a")}, "unexpected directory"},
		{"stray file", map[string][]byte{"configmaps/a.yaml": cm("demo", "a")}, "unexpected file"},
		{"not yaml", map[string][]byte{"configmaps/namespaces/demo/a.json": cm("demo", "a")}, "not a .yaml file"},
		{"two documents", map[string][]byte{"configmaps/namespaces/demo/a.yaml": append(append(cm("demo", "a"), "\n---\n"...), cm("demo", "a")...)}, "more than one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, data := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(rel))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadResourceTree(dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ReadResourceTree = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

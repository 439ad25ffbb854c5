package executor

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/manifest"
)

// dumpClients serve namespaces, configmaps, events, nodes and CRDs.
func dumpClients(objs ...runtime.Object) ManifestClients {
	gvrs := map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "namespaces"}:                                               "NamespaceList",
		{Version: "v1", Resource: "configmaps"}:                                               "ConfigMapList",
		{Version: "v1", Resource: "events"}:                                                   "EventList",
		{Version: "v1", Resource: "nodes"}:                                                    "NodeList",
		{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}: "CustomResourceDefinitionList",
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), gvrs, objs...)
	list := []string{"list", "get"}
	disc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	disc.Resources = []*metav1.APIResourceList{{
		GroupVersion: "v1",
		APIResources: []metav1.APIResource{
			{Name: "namespaces", Kind: "Namespace", Verbs: list},
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: list},
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: list},
			{Name: "nodes", Kind: "Node", Verbs: list},
			{Name: "configmaps/status", Kind: "ConfigMap", Namespaced: true, Verbs: list},
		},
	}, {
		GroupVersion: "apiextensions.k8s.io/v1",
		APIResources: []metav1.APIResource{{Name: "customresourcedefinitions", Kind: "CustomResourceDefinition", Verbs: list}},
	}}
	return ManifestClients{Dynamic: dyn, Discovery: preferredDiscovery{disc}}
}

// preferredDiscovery answers ServerPreferredResources with the fake's
// resources (the fake itself answers nothing).
type preferredDiscovery struct{ *fakediscovery.FakeDiscovery }

func (d preferredDiscovery) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return d.Resources, nil
}

func TestDumpClusterComponent(t *testing.T) {
	objs := []runtime.Object{
		testObject("v1", "Namespace", "", "app", nil),
		testObject("v1", "Namespace", "", "other", nil),
		testObject("v1", "Namespace", "", "unused", nil),
		testObject("v1", "ConfigMap", "app", "cfg", map[string]any{"data": map[string]any{"k": "v"}}),
		testObject("v1", "ConfigMap", "other", "cfg", nil),
		testObject("v1", "Event", "app", "ev", nil),
		testObject("v1", "Node", "", "n1", nil),
		testObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "gizmos.example.com", nil),
	}
	labelled := testObject("v1", "ConfigMap", "app", "labelled", nil)
	labelled.SetLabels(map[string]string{"team": "a"})
	objs = append(objs, labelled)

	cases := []struct {
		name   string
		filter manifest.Filter
		want   []string
	}{{
		name:   "one namespace",
		filter: manifest.Filter{IncludeNamespaces: []string{"app"}},
		want:   []string{"configmaps app/cfg", "configmaps app/labelled", "namespaces app"},
	}, {
		name:   "every namespace and cluster resources",
		filter: manifest.Filter{IncludeClusterResources: true},
		want: []string{"configmaps app/cfg", "configmaps app/labelled", "configmaps other/cfg",
			"customresourcedefinitions.apiextensions.k8s.io gizmos.example.com", "namespaces app", "namespaces other", "namespaces unused"},
	}, {
		name:   "label selector keeps the namespace of what it selects",
		filter: manifest.Filter{ANDedLabelSelectors: []manifest.LabelRequirement{{Key: "team", Value: "a"}}},
		want:   []string{"configmaps app/labelled", "namespaces app"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in []runtime.Object
			for _, o := range objs {
				in = append(in, o.(*unstructured.Unstructured).DeepCopy())
			}
			dir := t.TempDir()
			src, err := DumpClusterComponent(context.Background(), dumpClients(in...), ClusterDump{Component: "manifest", Filter: tc.filter}, dir)
			if err != nil {
				t.Fatal(err)
			}
			if src.Name != "manifest" || len(src.Sources) != 1 || src.Sources[0].HostPath != ManifestHostPath {
				t.Fatalf("sources %+v", src)
			}
			read, err := manifest.ReadResourceTree(src.Sources[0].Dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range read {
				got = append(got, o.String())
				if o.Obj.GetKind() == "" {
					t.Errorf("%s stored without its kind", o)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("dumped %v, want %v", got, tc.want)
			}
		})
	}

	_, err := DumpClusterComponent(context.Background(), dumpClients(), ClusterDump{Component: "manifest"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no object matches") {
		t.Errorf("dump of an empty cluster = %v, want an error", err)
	}
}

// A cluster dump is snapshotted with kopia and restored into an empty
// cluster; the component and an Event report the tally, and objects of a
// kind the cluster does not serve fail the component, counted and named.
func TestClusterManifestSnapshotAndRestore(t *testing.T) {
	clusterRestorePassInterval = 0
	source := []runtime.Object{
		testObject("v1", "Namespace", "", "app", nil),
		testObject("v1", "ConfigMap", "app", "cfg", map[string]any{"data": map[string]any{"k": "v"}}),
		testObject("v1", "ConfigMap", "app", "more", nil),
	}
	for _, tc := range []struct {
		name       string
		configMaps bool // the restore's cluster serves ConfigMaps
		wantErr    string
		wantEvent  string
		wantCounts corev1alpha1.ManifestRestoreCounts // Failures: prefixes
	}{
		{name: "into an empty cluster", configMaps: true, wantCounts: corev1alpha1.ManifestRestoreCounts{Created: 3}, wantEvent: "Normal " + EventReasonManifestsRestored + ` component "manifest": created 3, already existed 0, updated 0, skipped 0, failed 0`},
		{name: "a kind the cluster does not serve", wantErr: "2 of 3 objects failed to restore (created 1, already existed 0, updated 0, skipped 0, failed 2): configmaps app/cfg: ",
			wantEvent:  "Warning " + EventReasonManifestsFailed,
			wantCounts: corev1alpha1.ManifestRestoreCounts{Created: 1, Failed: 2, Failures: []string{"configmaps app/cfg: ", "configmaps app/more: "}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			env := newKubeEnv(t, goodSecret)
			src, err := DumpClusterComponent(ctx, dumpClients(source...), ClusterDump{Component: "manifest", Filter: manifest.Filter{IncludeNamespaces: []string{"app"}}}, t.TempDir())
			must(t, err)
			env.snapshot(t, ctx, src)

			dst := dumpClients()
			mapper := meta.NewDefaultRESTMapper(nil)
			mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
			if tc.configMaps {
				mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
			}
			dst.Mapper = mapper
			err = RunClusterManifestRestore(ctx, env.c, dst, env.runOpts(t, "manifest", ""), manifest.ClusterOptions{})
			cs := env.session(t).Status.Components["manifest"]
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || Retryable(err) {
					t.Fatalf("RunClusterManifestRestore = %v, want a permanent error containing %q", err, tc.wantErr)
				}
				if cs.Phase != corev1alpha1.RestoreFailed || !strings.Contains(cs.Error, tc.wantErr) {
					t.Errorf("component status %+v, want Failed with %q", cs, tc.wantErr)
				}
			} else {
				must(t, err)
				if cs.Phase != corev1alpha1.RestoreSucceeded || cs.Error != "" {
					t.Errorf("component status %+v, want Succeeded", cs)
				}
				cm, err := dst.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("app").Get(ctx, "cfg", metav1.GetOptions{})
				must(t, err)
				if v, _, _ := unstructured.NestedString(cm.Object, "data", "k"); v != "v" || cm.GetUID() == "uid-cfg" {
					t.Errorf("restored ConfigMap %v", cm.Object)
				}
			}
			if m := cs.Manifests; m == nil {
				t.Errorf("component status %+v has no manifests counts", cs)
			} else {
				counts, want := *m, tc.wantCounts
				counts.Failures, want.Failures = nil, nil
				if !reflect.DeepEqual(counts, want) || len(m.Failures) != len(tc.wantCounts.Failures) {
					t.Errorf("manifests counts %+v, want %+v", *m, tc.wantCounts)
				}
				for i, prefix := range tc.wantCounts.Failures {
					if i < len(m.Failures) && !strings.HasPrefix(m.Failures[i], prefix) {
						t.Errorf("failures[%d] = %q, want it to start with %q", i, m.Failures[i], prefix)
					}
				}
			}
			evs, err := env.c.Kube.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{})
			must(t, err)
			var got []string
			for _, ev := range evs.Items {
				got = append(got, ev.Type+" "+ev.Reason+" "+ev.Message)
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.wantEvent) || evs.Items[0].InvolvedObject.Name != testSession {
				t.Errorf("Events %q, want one starting %q on the RestoreSession", got, tc.wantEvent)
			}
		})
	}
}

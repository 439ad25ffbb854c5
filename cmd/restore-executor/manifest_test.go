package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/manifest"
)

func TestManifestFlagsGroupByComponent(t *testing.T) {
	fs := newFlagSet("snapshot")
	m := manifestsFlag()
	fs.Var(m, "manifests", "")
	must(t, fs.Parse([]string{
		"--manifests=db=src/postgreses.kubedb.com/pg", "--manifests=other=src/secrets",
		"--manifests=db=src/secrets/pg-auth",
	}))
	want := []executor.ManifestComponent{
		{Name: "db", Selectors: []executor.ManifestSelector{
			{Namespace: "src", Resource: "postgreses.kubedb.com", Name: "pg"},
			{Namespace: "src", Resource: "secrets", Name: "pg-auth"},
		}},
		{Name: "other", Selectors: []executor.ManifestSelector{{Namespace: "src", Resource: "secrets"}}},
	}
	if got := m.groups(); !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
	if err := fs.Parse([]string{"--manifests=db=src"}); err == nil {
		t.Errorf("a selector without a resource was accepted")
	}
}

func TestClusterDumpFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		want    *executor.ClusterDump
		wantErr string
	}{{
		name: "not asked for",
		args: []string{"--dump-namespaces=a"},
	}, {
		name: "namespaces, resources, labels, cluster resources",
		args: []string{"--cluster-manifests=manifest", "--dump-namespaces=a,b", "--dump-resources=deployments.apps,configmaps",
			"--dump-label-selectors=app=web", "--dump-cluster-resources"},
		want: &executor.ClusterDump{Component: "manifest", Filter: manifest.Filter{
			IncludeClusterResources: true, IncludeNamespaces: []string{"a", "b"}, IncludeResources: []string{"deployments.apps", "configmaps"},
			ANDedLabelSelectors: []manifest.LabelRequirement{{Key: "app", Value: "web"}},
		}},
	}, {
		name:    "bad namespace",
		args:    []string{"--cluster-manifests=manifest", "--dump-namespaces=Bad_NS"},
		wantErr: "IncludeNamespaces",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("snapshot")
			finish := clusterDumpFlags(fs)
			must(t, fs.Parse(tc.args))
			got, err := finish()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("finish = %v, want error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("dump %+v, want %+v", got, tc.want)
			}
		})
	}
}

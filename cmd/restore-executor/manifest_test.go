package main

import (
	"reflect"
	"testing"

	"github.com/restore-controller/restore/pkg/executor"
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

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// lastAppliedLimit is the size limit of an object's annotations, which
// client-side `kubectl apply` fills with the whole object as JSON.
const lastAppliedLimit = 256 * 1024

func loadCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob("../../artifacts/crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs found: %v", err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		compact, err := json.Marshal(&crd)
		if err != nil {
			t.Fatal(err)
		}
		// Leave room for the growth of the API before anyone notices.
		if len(compact) > lastAppliedLimit*7/8 {
			t.Errorf("%s is %d bytes as JSON, too close to the %d bytes kubectl apply can record", f, len(compact), lastAppliedLimit)
		}
		crds[crd.Spec.Names.Kind] = &crd
	}
	return crds
}

func TestDescriptionsKeptForProjectFieldsOnly(t *testing.T) {
	crds := loadCRDs(t)
	spec := crds["RestoreSession"].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	tests := []struct {
		name     string
		schema   apiextensionsv1.JSONSchemaProps
		wantDesc bool
	}{
		{"project field", spec.Properties["dataSource"].Properties["snapshot"], true},
		{"project field of a Kubernetes type", spec.Properties["addon"].Properties["containerRuntimeSettings"].Properties["resources"], true},
		{"inside a Kubernetes type", spec.Properties["addon"].Properties["containerRuntimeSettings"].Properties["resources"].Properties["limits"], false},
		{"list item of a Kubernetes type", *spec.Properties["addon"].Properties["tasks"].Items.Schema.Properties["targetVolumes"].Properties["volumes"].Items.Schema, false},
		{"inlined from a Kubernetes type", crds["Addon"].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["restoreTasks"].Items.Schema.
			Properties["volumeTemplate"].Items.Schema.Properties["source"].Properties["persistentVolumeClaim"], false},
		{"project field beside inlined ones", crds["Addon"].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["restoreTasks"].Items.Schema.
			Properties["volumeTemplate"].Items.Schema.Properties["source"].Properties["volumeClaimTemplate"], true},
	}
	for _, tt := range tests {
		if got := tt.schema.Description != ""; got != tt.wantDesc {
			t.Errorf("%s: has description = %v, want %v (%q)", tt.name, got, tt.wantDesc, tt.schema.Description)
		}
	}
}

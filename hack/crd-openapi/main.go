// Command crd-openapi writes the OpenAPI v2 schema of the project's CRDs, as
// the API server builds it, for applyconfiguration-gen. The generated apply
// configurations embed it, so the fake clientset's field manager merges
// server-side applies by the same list keys and map types as a real API
// server does.
//
// The API server names a CRD's model after its group and kind
// (com.kubestash.core.v1alpha1.RestoreSession); applyconfiguration-gen looks
// models up by Go package and type name, so the root models are renamed.
//
// Usage: go run ./hack/crd-openapi CRD-DIR OUTPUT.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/yaml"

	"github.com/restore-controller/restore/pkg/apis/install"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: crd-openapi CRD-DIR OUTPUT.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "crd-openapi:", err)
		os.Exit(1)
	}
}

func run(dir, output string) error {
	scheme := runtime.NewScheme()
	if err := install.AddToScheme(scheme); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	merged := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "restore-controller CRDs", Version: "v1alpha1"}},
		Paths:       &spec.Paths{Paths: map[string]spec.PathItem{}},
		Definitions: spec.Definitions{},
	}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range crd.Spec.Versions {
			sw, err := builder.BuildOpenAPIV2(&crd, v.Name, builder.Options{V2: true})
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			for _, kind := range []string{crd.Spec.Names.Kind, crd.Spec.Names.ListKind} {
				gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: kind}
				if err := renameModel(sw, scheme, gvk); err != nil {
					return err
				}
			}
			for name, def := range sw.Definitions {
				merged.Definitions[name] = def
			}
		}
	}
	out, err := json.MarshalIndent(merged, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(output, out, 0o644)
}

// renameModel renames the API server's model of gvk to the name of its Go
// type, and every reference to it.
func renameModel(sw *spec.Swagger, scheme *runtime.Scheme, gvk schema.GroupVersionKind) error {
	obj, err := scheme.New(gvk)
	if err != nil {
		return err
	}
	t := reflect.TypeOf(obj).Elem()
	goName := util.ToRESTFriendlyName(t.PkgPath() + "." + t.Name())

	groupParts := strings.Split(gvk.Group, ".")
	slices.Reverse(groupParts)
	serverName := strings.Join(groupParts, ".") + "." + gvk.Version + "." + gvk.Kind

	def, ok := sw.Definitions[serverName]
	if !ok {
		return fmt.Errorf("no model %s for %s", serverName, gvk)
	}
	delete(sw.Definitions, serverName)
	sw.Definitions[goName] = def

	// References are JSON pointers; rewrite them textually.
	raw, err := json.Marshal(sw.Definitions)
	if err != nil {
		return err
	}
	raw = []byte(strings.ReplaceAll(string(raw), `"#/definitions/`+serverName+`"`, `"#/definitions/`+goName+`"`))
	return json.Unmarshal(raw, &sw.Definitions)
}

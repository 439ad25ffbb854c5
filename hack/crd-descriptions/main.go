// Command crd-descriptions trims the CRDs that controller-gen writes: it keeps
// the descriptions of this project's own fields, so `kubectl explain` documents
// them, and drops the descriptions inside embedded Kubernetes API types
// (volumes, probes, affinity, …), which `kubectl explain pod.spec` already
// documents. With every description the RestoreSession CRD is 1.7 MB, over
// etcd's object limit and far over what client-side `kubectl apply` can
// record in its last-applied annotation (256 KiB).
//
// Usage: go run ./hack/crd-descriptions DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/restore-controller/restore/pkg/apis/install"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crd-descriptions DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "crd-descriptions:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	scheme := runtime.NewScheme()
	if err := install.AddToScheme(scheme); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := trimFile(scheme, f); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

func trimFile(scheme *runtime.Scheme, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		return err
	}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		obj, err := scheme.New(schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind})
		if err != nil {
			return err
		}
		trim(v.Schema.OpenAPIV3Schema, reflect.TypeOf(obj).Elem(), false)
	}
	out, err := yaml.Marshal(&crd)
	if err != nil {
		return err
	}
	// controller-gen writes no status and no creationTimestamp; keep the
	// files byte-stable by dropping what the round trip adds.
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		return err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if out, err = yaml.Marshal(m); err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// trim walks a schema alongside the project's Go type it was generated
// from. Inside a type from a k8s.io module every description is dropped; the
// description of a project field whose type is such a type is kept, because
// it comes from the project's own field comment.
func trim(s *apiextensionsv1.JSONSchemaProps, t reflect.Type, foreign bool) {
	if s == nil {
		return
	}
	t = deref(t)
	switch t.Kind() {
	case reflect.Struct:
		fields := jsonFields(t)
		for name, prop := range s.Properties {
			f, ok := fields[name]
			switch {
			case foreign || !ok || f.inlinedFromForeign:
				// Not a field the project declared: drop everything.
				trimAll(&prop)
			case isForeign(f.typ):
				// The project's field of a Kubernetes type: keep the
				// field's description, drop the type's.
				trimAll(&prop)
				prop.Description = s.Properties[name].Description
			default:
				trim(&prop, f.typ, false)
			}
			s.Properties[name] = prop
		}
	case reflect.Slice, reflect.Array:
		if s.Items != nil && s.Items.Schema != nil && t.Elem().Kind() != reflect.Uint8 {
			trim(s.Items.Schema, t.Elem(), foreign)
		}
	case reflect.Map:
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			trim(s.AdditionalProperties.Schema, t.Elem(), foreign)
		}
	}
}

// trimAll drops every description in s and below.
func trimAll(s *apiextensionsv1.JSONSchemaProps) {
	s.Description = ""
	for name, prop := range s.Properties {
		trimAll(&prop)
		s.Properties[name] = prop
	}
	if s.Items != nil && s.Items.Schema != nil {
		trimAll(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		trimAll(s.AdditionalProperties.Schema)
	}
}

// isForeign reports whether t (or the element type of a slice or map) is
// declared in a k8s.io module.
func isForeign(t reflect.Type) bool {
	t = deref(t)
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = deref(t.Elem())
	}
	return strings.HasPrefix(t.PkgPath(), "k8s.io/")
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

type field struct {
	typ reflect.Type
	// inlinedFromForeign: the field belongs to an embedded k8s.io struct.
	inlinedFromForeign bool
}

// jsonFields maps the JSON names of a struct's fields, including those of
// inlined embedded structs, to their types.
func jsonFields(t reflect.Type) map[string]field {
	fields := map[string]field{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := deref(f.Type)
			if ft.Kind() == reflect.Struct {
				for n, inner := range jsonFields(ft) {
					inner.inlinedFromForeign = inner.inlinedFromForeign || isForeign(ft)
					fields[n] = inner
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = field{typ: f.Type}
	}
	return fields
}

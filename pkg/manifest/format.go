package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// FormatFile is the marker at the root of a manifest tree; its content is
// FormatVersion.
const (
	FormatFile    = "FORMAT"
	FormatVersion = "restore-controller/manifests v1\n"
)

// coreGroupDir is the directory of the core ("") API group.
const coreGroupDir = "core"

// lastAppliedAnnotation is kubectl's copy of the last applied object.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// ErrNotManifestTree: the directory holds no FORMAT file of this format.
var ErrNotManifestTree = errors.New("not a manifest tree")

// strippedMetadata are the metadata fields that describe an object's life
// in its cluster rather than the object (see the package documentation).
var strippedMetadata = []string{
	"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
	"selfLink", "ownerReferences", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// Strip returns a copy of obj without the cluster-specific fields and status.
func Strip(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	for _, f := range strippedMetadata {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	if ann := out.GetAnnotations(); ann != nil {
		delete(ann, lastAppliedAnnotation)
		if len(ann) == 0 {
			ann = nil
		}
		out.SetAnnotations(ann)
	}
	delete(out.Object, "status")
	return out
}

// RelPath is where obj is stored in a manifest tree (slash-separated).
func RelPath(obj *unstructured.Unstructured) (string, error) {
	gvk := obj.GroupVersionKind()
	what := describe(obj)
	if gvk.Kind == "" || gvk.Version == "" {
		return "", fmt.Errorf("object %s: apiVersion and kind are required", what)
	}
	if obj.GetNamespace() == "" {
		return "", fmt.Errorf("object %s: metadata.namespace is required: only namespaced objects are stored", what)
	}
	for _, part := range []struct{ field, value string }{
		{"kind", gvk.Kind}, {"metadata.namespace", obj.GetNamespace()}, {"metadata.name", obj.GetName()},
	} {
		if !safeElement(part.value) {
			return "", fmt.Errorf("object %s: %s %q is not a valid path element", what, part.field, part.value)
		}
	}
	if msgs := validation.IsDNS1123Subdomain(obj.GetName()); len(msgs) > 0 {
		return "", fmt.Errorf("object %s: metadata.name %q: %s", what, obj.GetName(), strings.Join(msgs, "; "))
	}
	group := gvk.Group
	if group == "" {
		group = coreGroupDir
	} else if !safeElement(group) {
		return "", fmt.Errorf("object %s: API group %q is not a valid path element", what, group)
	}
	return strings.Join([]string{group, gvk.Kind, obj.GetNamespace(), obj.GetName() + ".yaml"}, "/"), nil
}

func safeElement(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// describe names an object in messages: Kind namespace/name.
func describe(obj *unstructured.Unstructured) string {
	kind := obj.GetKind()
	if kind == "" {
		kind = "object"
	}
	if ns := obj.GetNamespace(); ns != "" {
		return kind + " " + ns + "/" + obj.GetName()
	}
	return kind + " " + obj.GetName()
}

// Write stores the stripped objects under dir (created if missing) in the
// manifest format. Two objects with the same path are an error.
func Write(dir string, objs []*unstructured.Unstructured) error {
	files := make([]objectFile, 0, len(objs))
	for _, obj := range objs {
		rel, err := RelPath(obj)
		if err != nil {
			return err
		}
		files = append(files, objectFile{rel: rel, name: describe(obj), content: Strip(obj).Object})
	}
	if err := writeObjectFiles(dir, files); err != nil {
		return err
	}
	// The marker goes last: a tree interrupted while written has none.
	if err := os.WriteFile(filepath.Join(dir, FormatFile), []byte(FormatVersion), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", FormatFile, err)
	}
	return nil
}

// objectFile is one object stored as YAML at rel (slash-separated) in a
// manifest directory; name identifies it in messages.
type objectFile struct {
	rel, name string
	content   map[string]any
}

// writeObjectFiles stores files under dir (created if missing). Files are
// 0600 and directories 0700: the trees hold Secrets. Two files with the
// same path are an error.
func writeObjectFiles(dir string, files []objectFile) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating manifest directory %q: %w", dir, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.rel] {
			return fmt.Errorf("object %s is given twice", f.name)
		}
		seen[f.rel] = true
		data, err := yaml.Marshal(f.content)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", f.name, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("creating %q: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

// Read loads every object of the manifest tree at dir, sorted by path.
func Read(dir string) ([]*unstructured.Unstructured, error) {
	marker, err := os.ReadFile(filepath.Join(dir, FormatFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q has no %s file (was the component written by a manifest snapshot?)", ErrNotManifestTree, dir, FormatFile)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", FormatFile, err)
	}
	if string(marker) != FormatVersion {
		return nil, fmt.Errorf("%w: %s in %q is %q, this executor reads %q", ErrNotManifestTree, FormatFile, dir, strings.TrimSpace(string(marker)), strings.TrimSpace(FormatVersion))
	}
	// WalkDir visits entries in lexical order: the result is sorted by path.
	var objs []*unstructured.Unstructured
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.Type()&fs.ModeSymlink != 0 || (!d.IsDir() && !d.Type().IsRegular()):
			return fmt.Errorf("manifest tree entry %q is not a regular file or directory", rel)
		case d.IsDir():
			if strings.Count(rel, "/") > 2 {
				return fmt.Errorf("manifest tree entry %q: unexpected directory (want <group>/<Kind>/<namespace>/<name>.yaml)", rel)
			}
			return nil
		case rel == FormatFile:
			return nil
		}
		obj, err := readObject(p)
		if err != nil {
			return fmt.Errorf("manifest %q: %w", rel, err)
		}
		want, err := RelPath(obj)
		if err != nil {
			return fmt.Errorf("manifest %q: %w", rel, err)
		}
		if want != rel {
			return fmt.Errorf("manifest %q holds %s, which belongs at %q", rel, describe(obj), want)
		}
		objs = append(objs, obj)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

func readObject(p string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(data, []byte("\n---")) {
		return nil, errors.New("holds more than one YAML document")
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	// utiljson keeps integers int64, as the dynamic client decodes them.
	m := map[string]any{}
	if err := utiljson.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

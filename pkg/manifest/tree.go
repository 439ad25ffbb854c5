package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Directory names of the resource tree (KubeStash's kubedump and Velero's
// layout; see the package documentation).
const (
	clusterDir    = "cluster"
	namespacesDir = "namespaces"
)

// Object is one object of a resource tree with the resource it was listed
// as (its group and plural name, "deployments.apps"; "configmaps" for the
// core group). Namespace-scoped is decided by where the file lies: a
// cluster-scoped object has no namespace.
type Object struct {
	Resource schema.GroupResource
	Obj      *unstructured.Unstructured
}

// String names the object in messages and results: resource
// namespace/name, or resource name for a cluster-scoped object.
func (o Object) String() string {
	if ns := o.Obj.GetNamespace(); ns != "" {
		return o.Resource.String() + " " + ns + "/" + o.Obj.GetName()
	}
	return o.Resource.String() + " " + o.Obj.GetName()
}

// ResourceRelPath is where o is stored in a resource tree (slash-separated):
// <resource>/cluster/<name>.yaml or <resource>/namespaces/<ns>/<name>.yaml.
func ResourceRelPath(o Object) (string, error) {
	gr := o.Resource.String()
	if o.Resource.Resource == "" || !safeElement(gr) {
		return "", fmt.Errorf("object %s: resource %q is not a valid path element", describe(o.Obj), gr)
	}
	name := o.Obj.GetName()
	if !safeElement(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("object %s: metadata.name %q is not a valid path element", describe(o.Obj), name)
	}
	ns := o.Obj.GetNamespace()
	if ns == "" {
		return strings.Join([]string{gr, clusterDir, name + ".yaml"}, "/"), nil
	}
	if !safeElement(ns) {
		return "", fmt.Errorf("object %s: metadata.namespace %q is not a valid path element", describe(o.Obj), ns)
	}
	return strings.Join([]string{gr, namespacesDir, ns, name + ".yaml"}, "/"), nil
}

// WriteResourceTree stores objs under dir (created if missing) in the
// resource tree layout, each as the API returned it but without
// managedFields (bookkeeping of the source cluster that a restore drops
// anyway). Files are 0600 and directories 0700: the tree holds Secrets.
// Two objects with the same path are an error.
func WriteResourceTree(dir string, objs []Object) error {
	files := make([]objectFile, 0, len(objs))
	for _, o := range objs {
		rel, err := ResourceRelPath(o)
		if err != nil {
			return err
		}
		obj := o.Obj.DeepCopy()
		unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
		files = append(files, objectFile{rel: rel, name: o.String(), content: obj.Object})
	}
	return writeObjectFiles(dir, files)
}

// ErrNotResourceTree: the directory is not in the resource tree layout.
var ErrNotResourceTree = errors.New("not a resource tree (<resource>/cluster/<name>.yaml, <resource>/namespaces/<namespace>/<name>.yaml)")

// ReadResourceTree loads every object of the resource tree at dir, sorted
// by path. It refuses entries outside the layout, anything that is not a
// regular file or directory, and files whose object has another name or
// namespace than its path says, so a forged snapshot cannot smuggle an
// object in under another identity.
func ReadResourceTree(dir string) ([]Object, error) {
	var out []Object
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || (!d.IsDir() && !d.Type().IsRegular()) {
			return fmt.Errorf("manifest tree entry %q is not a regular file or directory", rel)
		}
		parts := strings.Split(rel, "/")
		if d.IsDir() {
			ok := len(parts) == 1 ||
				(len(parts) == 2 && (parts[1] == clusterDir || parts[1] == namespacesDir)) ||
				(len(parts) == 3 && parts[1] == namespacesDir)
			if !ok {
				return fmt.Errorf("%w: unexpected directory %q", ErrNotResourceTree, rel)
			}
			return nil
		}
		var ns, file string
		switch {
		case len(parts) == 3 && parts[1] == clusterDir:
			file = parts[2]
		case len(parts) == 4 && parts[1] == namespacesDir:
			ns, file = parts[2], parts[3]
		default:
			return fmt.Errorf("%w: unexpected file %q", ErrNotResourceTree, rel)
		}
		name, ok := strings.CutSuffix(file, ".yaml")
		if !ok {
			return fmt.Errorf("%w: file %q is not a .yaml file", ErrNotResourceTree, rel)
		}
		obj, err := readObject(p)
		if err != nil {
			return fmt.Errorf("manifest %q: %w", rel, err)
		}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return fmt.Errorf("manifest %q: apiVersion and kind are required", rel)
		}
		if obj.GetName() != name || obj.GetNamespace() != ns {
			return fmt.Errorf("manifest %q holds %s, which does not belong there", rel, describe(obj))
		}
		out = append(out, Object{Resource: schema.ParseGroupResource(parts[0]), Obj: obj})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir visits entries in lexical order: out is sorted by path.
	return out, nil
}

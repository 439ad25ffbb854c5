// Package chart renders the Helm chart charts/restore-controller with
// Helm's Go SDK, as `helm template --include-crds` does, and builds
// artifacts/ with kustomize, as `kubectl apply -k` does, so tests can
// compare what the two install paths create.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Where the chart and the kustomize root live, relative to the repository.
const (
	ChartDir     = "charts/restore-controller"
	ArtifactsDir = "artifacts"
	// Namespace and ReleaseName are those the README's install command uses.
	Namespace   = "restore-system"
	ReleaseName = "restore-controller"
)

// HelmLabels are the labels the chart adds to every object, following
// Helm's conventions, and artifacts/ does not: the one difference between
// the two installs that Compare forgives.
var HelmLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
}

// Render renders the chart under repoRoot with values over its defaults,
// CRDs included, and returns the objects in the order Helm emits them.
func Render(repoRoot string, values map[string]any) ([]*unstructured.Unstructured, error) {
	manifest, err := RenderManifest(repoRoot, values)
	if err != nil {
		return nil, err
	}
	return decode(strings.NewReader(manifest))
}

// RenderManifest is Render's multi-document YAML, for `kubectl apply -f`.
func RenderManifest(repoRoot string, values map[string]any) (string, error) {
	chrt, err := loader.Load(filepath.Join(repoRoot, ChartDir))
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", ChartDir, err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = ReleaseName
	install.Namespace = Namespace
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.37.0", Major: "1", Minor: "37"}
	if values == nil {
		values = map[string]any{}
	}
	rel, err := install.Run(chrt, values)
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", ChartDir, err)
	}
	return rel.Manifest, nil
}

// Kustomize builds artifacts/ under repoRoot.
func Kustomize(repoRoot string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, ArtifactsDir))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", ArtifactsDir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, err
	}
	return decode(bytes.NewReader(out))
}

func decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 { // an empty document (comments only)
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// Key identifies an object: group/version, kind, namespace and name.
func Key(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s %s/%s", o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
}

// Index returns objs by Key and the sorted keys; a duplicate key is an error.
func Index(objs []*unstructured.Unstructured) (map[string]*unstructured.Unstructured, []string, error) {
	byKey := map[string]*unstructured.Unstructured{}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		k := Key(o)
		if _, dup := byKey[k]; dup {
			return nil, nil, fmt.Errorf("%s appears twice", k)
		}
		byKey[k] = o
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return byKey, keys, nil
}

// WithoutHelmLabels returns a copy of o without HelmLabels (and without
// an empty labels map left behind).
func WithoutHelmLabels(o *unstructured.Unstructured) *unstructured.Unstructured {
	o = o.DeepCopy()
	labels := o.GetLabels()
	for _, l := range HelmLabels {
		delete(labels, l)
	}
	if len(labels) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "labels")
	} else {
		o.SetLabels(labels)
	}
	return o
}

package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"

	"github.com/restore-controller/restore/test/cluster"
)

// InstallProjectCRDs installs the project's CRDs, artifacts/crds, with
// InstallCRDs.
func InstallProjectCRDs(ctx context.Context, cfg *rest.Config) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	return InstallCRDs(ctx, cfg, filepath.Join(root, "artifacts", "crds"))
}

// InstallCRDs creates (or replaces) every CRD in dir and waits until each is
// Established and served.
func InstallCRDs(ctx context.Context, cfg *rest.Config, dir string) error {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no CRDs in %s", dir)
	}
	var names []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&crd); err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", f, err)
		}
		crds := client.ApiextensionsV1().CustomResourceDefinitions()
		_, err = crds.Create(ctx, &crd, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var current *apiextensionsv1.CustomResourceDefinition
			if current, err = crds.Get(ctx, crd.Name, metav1.GetOptions{}); err == nil {
				crd.ResourceVersion = current.ResourceVersion
				_, err = crds.Update(ctx, &crd, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return fmt.Errorf("installing %s: %w", f, err)
		}
		names = append(names, crd.Name)
	}
	return cluster.WaitCRDsEstablished(ctx, client, names)
}

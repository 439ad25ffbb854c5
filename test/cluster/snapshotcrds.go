package cluster

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
)

// snapshotCRDs are the snapshot.storage.k8s.io v1 CRDs of the CSI
// external-snapshotter: VolumeSnapshot, VolumeSnapshotContent and
// VolumeSnapshotClass. The cluster serves them like a cluster with the
// snapshot controller installed; no snapshot controller runs, so tests
// create pre-provisioned contents and mark them ready themselves, and the
// process kubelet's provisioner restores claims from them (see
// kubelet/provisioner.go).
//
//go:embed crds/*.yaml
var snapshotCRDs embed.FS

// installSnapshotCRDs creates the snapshot CRDs and waits until they are
// established.
func installSnapshotCRDs(ctx context.Context, cfg *rest.Config) error {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	entries, err := snapshotCRDs.ReadDir("crds")
	if err != nil {
		return err
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	var names []string
	for _, e := range entries {
		raw, err := snapshotCRDs.ReadFile("crds/" + e.Name())
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&crd); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	return WaitCRDsEstablished(ctx, client, names)
}

// WaitCRDsEstablished waits until every CRD named is Established, so the
// API server serves its resources.
func WaitCRDsEstablished(ctx context.Context, client apiextensionsclient.Interface, names []string) error {
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	return nil
}

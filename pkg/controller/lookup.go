package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

// lookup is the controller's refs.Lookup: the informers' caches, and the
// API for Namespaces, which are not watched (only a Selector usage policy
// or a manifest restore reads one).
type lookup struct{ c *Controller }

var _ refs.Lookup = lookup{}

func (l lookup) Repository(_ context.Context, namespace, name string) (*storagev1alpha1.Repository, error) {
	return l.c.repositories.Repositories(namespace).Get(name)
}

func (l lookup) Snapshot(_ context.Context, namespace, name string) (*storagev1alpha1.Snapshot, error) {
	return l.c.snapshots.Snapshots(namespace).Get(name)
}

func (l lookup) Snapshots(_ context.Context, namespace string, selector labels.Selector) ([]*storagev1alpha1.Snapshot, error) {
	return l.c.snapshots.Snapshots(namespace).List(selector)
}

func (l lookup) BackupStorage(_ context.Context, namespace, name string) (*storagev1alpha1.BackupStorage, error) {
	return l.c.backupStorages.BackupStorages(namespace).Get(name)
}

func (l lookup) HookTemplate(_ context.Context, namespace, name string) (*corev1alpha1.HookTemplate, error) {
	return l.c.hookTemplates.HookTemplates(namespace).Get(name)
}

func (l lookup) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return l.c.kubeClient.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

// resolver resolves RestoreSession references through the caches.
func (c *Controller) resolver() refs.Resolver {
	return refs.Resolver{Lookup: lookup{c}}
}

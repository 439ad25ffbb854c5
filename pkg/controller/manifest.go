package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
)

// Messages of manifest restore validation.
const (
	messageRestoreNamespaceRequired = "task %q (spec.addon.tasks[%d]) restores object manifests and needs the namespace to create them in"
	messageRestoreNamespaceNotFound = "Namespace %q not found: create it before the manifest restore"
)

// isManifestTask reports whether a task restores object manifests (see
// invocation.TaskManifestRestore) rather than data into target volumes.
func isManifestTask(t resolvedTask) bool {
	return t.ref.Name == invocation.TaskManifestRestore
}

// manifestTaskIndex is the index of the first manifest task, or -1.
func manifestTaskIndex(s *restoreState) int {
	for i, t := range s.tasks {
		if isManifestTask(t) {
			return i
		}
	}
	return -1
}

// checkManifestOptions checks, for a restore with a manifest task, that
// spec.manifestOptions.restoreNamespace is set and exists. Namespaces are
// not watched: a missing one is looked for again every TargetPollInterval.
func (c *Controller) checkManifestOptions(ctx context.Context, s *restoreState) (field.ErrorList, error) {
	i := manifestTaskIndex(s)
	if i < 0 {
		return nil, nil
	}
	path := field.NewPath("spec", "manifestOptions", "restoreNamespace")
	mo := s.rs.Spec.ManifestOptions
	if mo == nil || mo.RestoreNamespace == "" {
		return field.ErrorList{field.Required(path, fmt.Sprintf(messageRestoreNamespaceRequired, s.tasks[i].ref.Name, i))}, nil
	}
	_, err := c.kubeClient.CoreV1().Namespaces().Get(ctx, mo.RestoreNamespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s.result.requeueWithin(c.opts.TargetPollInterval)
		return field.ErrorList{field.Invalid(path, mo.RestoreNamespace, fmt.Sprintf(messageRestoreNamespaceNotFound, mo.RestoreNamespace))}, nil
	case err != nil:
		return nil, fmt.Errorf("reading Namespace %s: %w", mo.RestoreNamespace, err)
	}
	return nil, nil
}

// manifestGrants are the executor's permissions in the restore namespace:
// get and create of the kinds a manifest restore creates (manifest.Plan
// accepts no others). The objects' names come from the snapshot, which
// the controller does not read, and create cannot be limited by name
// anyway, so these grants name no object.
func manifestGrants(s *restoreState) []grant {
	if manifestTaskIndex(s) < 0 || s.rs.Spec.ManifestOptions == nil || s.rs.Spec.ManifestOptions.RestoreNamespace == "" {
		return nil
	}
	ns := s.rs.Spec.ManifestOptions.RestoreNamespace
	verbs := []string{"get", "create"}
	grants := []grant{{ns, "", "secrets", "", verbs}}
	for _, db := range manifest.Databases {
		grants = append(grants, grant{ns, manifest.KubeDBGroup, db.Resource, "", verbs})
	}
	return grants
}

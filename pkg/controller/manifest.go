package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/restore-controller/restore/pkg/refs"
)

// Messages of manifest restore validation.
const (
	messageRestoreNamespaceRequired = "task %q (spec.addon.tasks[%d]) restores object manifests and needs the namespace to create them in"
	messageRestoreNamespaceNotFound = "Namespace %q not found: create it before the manifest restore"
)

// addonKubeDump is KubeStash's addon whose manifest-restore task restores
// cluster resources where they were backed up from, with the permissions
// of the service account the user names in spec.addon.jobTemplate: it has
// no restore namespace and the controller grants it nothing there.
const addonKubeDump = "kubedump-addon"

// manifestTaskIndex is the index of the first manifest task that restores
// into spec.manifestOptions.restoreNamespace, or -1.
func manifestTaskIndex(s *restoreState) int {
	if s.rs.Spec.Addon.Name == addonKubeDump {
		return -1
	}
	for i, t := range s.tasks {
		if t.RestoresManifests() {
			return i
		}
	}
	return -1
}

// checkManifestOptions checks, for a restore with a manifest task, that
// spec.manifestOptions.restoreNamespace is set, exists, and, when it is
// another namespace than the RestoreSession's, that its owner accepts
// manifest restores from the RestoreSession's namespace
// (refs.CheckRestoreNamespace). Namespaces are not watched: a missing or
// refusing one is looked at again every TargetPollInterval.
func (c *Controller) checkManifestOptions(ctx context.Context, s *restoreState) (field.ErrorList, error) {
	i := manifestTaskIndex(s)
	if i < 0 {
		return nil, nil
	}
	path := field.NewPath("spec", "manifestOptions", "restoreNamespace")
	restoreNS := refs.RestoreNamespace(s.rs)
	if restoreNS == "" {
		return field.ErrorList{field.Required(path, fmt.Sprintf(messageRestoreNamespaceRequired, s.tasks[i].Ref.Name, i))}, nil
	}
	target, err := c.kubeClient.CoreV1().Namespaces().Get(ctx, restoreNS, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s.result.requeueWithin(c.opts.TargetPollInterval)
		return field.ErrorList{field.Invalid(path, restoreNS, fmt.Sprintf(messageRestoreNamespaceNotFound, restoreNS))}, nil
	case err != nil:
		return nil, fmt.Errorf("reading Namespace %s: %w", restoreNS, err)
	}
	if err := refs.CheckRestoreNamespace(s.rs.Namespace, target); err != nil {
		s.result.requeueWithin(c.opts.TargetPollInterval)
		return field.ErrorList{field.Forbidden(path, err.Error())}, nil
	}
	return nil, nil
}

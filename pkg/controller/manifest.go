package controller

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/restore-controller/restore/pkg/manifest"
	"github.com/restore-controller/restore/pkg/refs"
)

// Messages of manifest restore validation.
const (
	messageRestoreNamespaceRequired = "task %q (spec.addon.tasks[%d]) restores object manifests and needs the namespace to create them in (here, or in a database's restoreNamespace)"
	messageRestoreNamespaceNotFound = "Namespace %q not found: create it before the manifest restore"
	messageRestoreNamespacesDiffer  = "differs from %s %q: one manifest restore creates all its objects in one namespace"
	messageKindNotRestored          = "accepted for KubeStash compatibility, but this project's manifest restore restores only Secrets and KubeDB %s"
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
// spec.manifestOptions names one restore namespace (top-level or per
// database, manifest.RestoreNamespaces), sets no options of a kind the
// restore cannot restore, that the namespace exists and, when it is
// another namespace than the RestoreSession's, that its owner accepts
// manifest restores from the RestoreSession's namespace
// (refs.CheckRestoreNamespace). Namespaces are not watched: a missing or
// refusing one is looked at again every TargetPollInterval.
func (c *Controller) checkManifestOptions(ctx context.Context, s *restoreState) (field.ErrorList, error) {
	i := manifestTaskIndex(s)
	if i < 0 {
		return nil, nil
	}
	mo := s.rs.Spec.ManifestOptions
	var errs field.ErrorList
	for _, p := range manifest.UnrestoredOptions(mo) {
		errs = append(errs, field.Forbidden(fieldPath(p), fmt.Sprintf(messageKindNotRestored, manifest.RestoredKindsText())))
	}
	named := manifest.RestoreNamespaces(mo)
	if len(named) == 0 {
		return append(errs, field.Required(field.NewPath("spec", "manifestOptions", "restoreNamespace"), fmt.Sprintf(messageRestoreNamespaceRequired, s.tasks[i].Ref.Name, i))), nil
	}
	for _, n := range named[1:] {
		if n.Namespace != named[0].Namespace {
			errs = append(errs, field.Invalid(fieldPath(n.Field), n.Namespace, fmt.Sprintf(messageRestoreNamespacesDiffer, named[0].Field, named[0].Namespace)))
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	// refs.RestoreNamespace, which the grants use, is this namespace.
	restoreNS, path := named[0].Namespace, fieldPath(named[0].Field)
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

// fieldPath turns a dotted path such as spec.manifestOptions.postgres into
// a field.Path.
func fieldPath(dotted string) *field.Path {
	parts := strings.Split(dotted, ".")
	return field.NewPath(parts[0], parts[1:]...)
}

package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/controller/permissions"
	"github.com/restore-controller/restore/pkg/refs"
)

// executorServiceAccount is the service account the restore Jobs run as:
// the user's when spec.addon.jobTemplate names one (then the user grants
// its permissions), else one the controller creates for this
// RestoreSession (own=true).
func executorServiceAccount(rs *corev1alpha1.RestoreSession) (name string, own bool) {
	if jt := rs.Spec.Addon.JobTemplate; jt != nil && jt.Spec.ServiceAccountName != "" {
		return jt.Spec.ServiceAccountName, false
	}
	return names.ServiceAccount(rs), true
}

// executorGrants are the grants of the executor of this restore (see
// permissions.RestoreGrants).
func executorGrants(s *restoreState) []permissions.Grant {
	objects := permissions.Objects{
		RestoreSession: s.rs,
		Snapshot:       s.snapshot,
		Repository:     s.repository,
		Storage:        s.storage,
		Secrets:        []*refs.Ref{s.storageSecret, s.encryptionSecret},
	}
	if manifestTaskIndex(s) >= 0 {
		objects.ManifestNamespace = refs.RestoreNamespace(s.rs)
	}
	return permissions.RestoreGrants(objects)
}

func (c *Controller) granter() permissions.Granter {
	return permissions.Granter{Client: c.kubeClient, FieldManager: ControllerName}
}

// ensureExecutorPermissions creates the executor's ServiceAccount and its
// grants (see package permissions). In the RestoreSession's namespace
// they are owned by it; before anything is created in another namespace
// the finalizer is added, and releaseResources deletes them.
func (c *Controller) ensureExecutorPermissions(ctx context.Context, s *restoreState, serviceAccount string) error {
	rs := s.rs
	return c.granter().Ensure(ctx, permissions.Request{
		Namespace:      rs.Namespace,
		ServiceAccount: serviceAccount,
		ForeignName:    names.ForeignRole(rs),
		Labels:         invokerLabels(rs),
		Owner:          controllerRef(rs),
		Grants:         executorGrants(s),
		BeforeForeign:  func(ctx context.Context) error { return c.ensureFinalizer(ctx, s) },
	})
}

// deleteForeignPermissions deletes the executor's Roles and RoleBindings in
// namespaces other than the RestoreSession's.
func (c *Controller) deleteForeignPermissions(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	selector := labels.SelectorFromSet(labels.Set{
		LabelInvokerName:      names.LabelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
		LabelInvokerKind:      kindRestoreSession,
	})
	return c.granter().RevokeForeign(ctx, rs.Namespace, selector)
}

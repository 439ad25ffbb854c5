package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/controller/permissions"
	"github.com/restore-controller/restore/pkg/refs"
)

// The restore executor in the restore Jobs reads the objects it restores
// from and reports to its RestoreSession with the permissions of the Jobs'
// service account. The controller creates that service account and its
// grants (package permissions) unless the user names their own.

// jobServiceAccount is the service account the restore Jobs, and the hook
// Jobs that name none of their own, run as: the user's when
// spec.addon.jobTemplate names one (then the user grants its permissions),
// else one the controller creates for this RestoreSession (own=true).
func jobServiceAccount(rs *corev1alpha1.RestoreSession) (name string, own bool) {
	if jt := rs.Spec.Addon.JobTemplate; jt != nil && jt.Spec.ServiceAccountName != "" {
		return jt.Spec.ServiceAccountName, false
	}
	return names.ServiceAccount(rs), true
}

// restoreGrants are the grants the restore executor needs for this
// restore (see permissions.RestoreGrants).
func restoreGrants(s *restoreState) []permissions.Grant {
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
	if volumeSnapshotTaskIndex(s) >= 0 {
		objects.ClaimNamespace = s.rs.Namespace
	}
	return permissions.RestoreGrants(objects)
}

func (c *Controller) granter() permissions.Granter {
	return permissions.Granter{Client: c.kubeClient, FieldManager: ControllerName}
}

// ensureGrants creates the controller's service account of the
// RestoreSession's Jobs and its grants. In the RestoreSession's namespace
// they are owned by it; before anything is created in another namespace
// the finalizer is added, and release revokes them there.
func (c *Controller) ensureGrants(ctx context.Context, s *restoreState, serviceAccount string) error {
	rs := s.rs
	return c.granter().Ensure(ctx, permissions.Request{
		Namespace:      rs.Namespace,
		ServiceAccount: serviceAccount,
		ForeignName:    names.ForeignRole(rs),
		Labels:         invokerLabels(rs),
		Owner:          controllerRef(rs),
		Grants:         restoreGrants(s),
		BeforeForeign:  func(ctx context.Context) error { return c.ensureFinalizer(ctx, s) },
	})
}

// revokeForeignGrants deletes the Roles and RoleBindings of the
// RestoreSession's service account in namespaces other than its own.
func (c *Controller) revokeForeignGrants(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	selector := labels.SelectorFromSet(labels.Set{
		LabelInvokerName:      names.LabelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
		LabelInvokerKind:      kindRestoreSession,
	})
	return c.granter().RevokeForeign(ctx, rs.Namespace, selector)
}

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
// service account. The controller grants them (package permissions) to
// the service account it creates for the RestoreSession, or to the one the
// user names in spec.addon.jobTemplate, as KubeStash does: a KubeStash
// RestoreSession with its own service account needs no RBAC of its user.
// The grants are the same either way, the objects refs resolved and
// allowed (namespace consent included), and the admission policy lets only
// a creator who may create Jobs in the namespace name it: one who could run
// pods as any of its service accounts, the controller's own included,
// anyway. A service
// account the BackupStorage's runtime settings name gets none: its owner
// grants it (it may be bound to a cloud identity).

// jobServiceAccount is the service account the restore Jobs, and the hook
// Jobs that name none of their own, run as: the user's when
// spec.addon.jobTemplate names one, else one the controller creates for
// this RestoreSession (own=true).
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

// ensureGrants grants the service account of the RestoreSession's Jobs
// what the restore executor needs, creating it first when it is the
// controller's own (own). In the RestoreSession's namespace the Role and
// RoleBinding are owned by it; before anything is created in another
// namespace the finalizer is added, and release revokes them there.
func (c *Controller) ensureGrants(ctx context.Context, s *restoreState, serviceAccount string, own bool) error {
	rs := s.rs
	return c.granter().Ensure(ctx, permissions.Request{
		Namespace:            rs.Namespace,
		ServiceAccount:       serviceAccount,
		CreateServiceAccount: own,
		Name:                 names.ServiceAccount(rs),
		ForeignName:          names.ForeignRole(rs),
		Labels:               invokerLabels(rs),
		Owner:                controllerRef(rs),
		Grants:               restoreGrants(s),
		BeforeForeign:        func(ctx context.Context) error { return c.ensureFinalizer(ctx, s) },
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

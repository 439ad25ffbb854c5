package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
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
	return executorServiceAccountName(rs), true
}

// grant is one permission of the executor: verbs on one named object, or
// on every object of the resource when name is empty.
type grant struct {
	namespace, group, resource, name string
	verbs                            []string
}

// executorGrants are exactly the API calls the executor makes: GET of the
// objects it restores from, each by name, and a status patch of its own
// RestoreSession. Nothing can be listed or watched, and no other Secret
// can be read. The objects are the ones refs resolved and allowed, so a
// grant outside the RestoreSession's namespace exists only with the
// consent of that namespace's owner. A manifest restore adds the
// permissions to create what it restores (manifestGrants).
func executorGrants(s *restoreState) []grant {
	rs := s.rs
	core := corev1alpha1.SchemeGroupVersion.Group
	storage := storagev1alpha1.SchemeGroupVersion.Group
	grants := []grant{
		{rs.Namespace, core, "restoresessions", rs.Name, []string{"get"}},
		{rs.Namespace, core, "restoresessions/status", rs.Name, []string{"get", "patch"}},
	}
	if s.snapshot != nil {
		grants = append(grants, grant{s.snapshot.Namespace, storage, "snapshots", s.snapshot.Name, []string{"get"}})
	}
	if s.repository != nil {
		grants = append(grants, grant{s.repository.Namespace, storage, "repositories", s.repository.Name, []string{"get"}})
	}
	if bs := s.storage; bs != nil {
		grants = append(grants, grant{bs.Namespace, storage, "backupstorages", bs.Name, []string{"get"}})
	}
	for _, secret := range []*refs.Ref{s.storageSecret, s.encryptionSecret} {
		if secret != nil {
			grants = append(grants, grant{secret.Namespace, "", "secrets", secret.Name, []string{"get"}})
		}
	}
	return append(grants, manifestGrants(s)...)
}

// rulesByNamespace groups grants into one sorted rule list per namespace.
func rulesByNamespace(grants []grant) map[string][]rbacv1.PolicyRule {
	type ruleKey struct{ group, resource, verbs string }
	names := map[string]map[ruleKey][]string{}
	for _, g := range grants {
		if names[g.namespace] == nil {
			names[g.namespace] = map[ruleKey][]string{}
		}
		k := ruleKey{g.group, g.resource, strings.Join(g.verbs, ",")}
		if !slices.Contains(names[g.namespace][k], g.name) {
			names[g.namespace][k] = append(names[g.namespace][k], g.name)
		}
	}
	out := map[string][]rbacv1.PolicyRule{}
	for ns, byKey := range names {
		keys := slices.SortedFunc(maps.Keys(byKey), func(a, b ruleKey) int {
			return strings.Compare(a.group+"/"+a.resource, b.group+"/"+b.resource)
		})
		for _, k := range keys {
			resourceNames := slices.Sorted(slices.Values(byKey[k]))
			if slices.Contains(resourceNames, "") {
				resourceNames = nil // a grant without a name covers them all
			}
			out[ns] = append(out[ns], rbacv1.PolicyRule{
				APIGroups: []string{k.group}, Resources: []string{k.resource},
				Verbs: strings.Split(k.verbs, ","), ResourceNames: resourceNames,
			})
		}
	}
	return out
}

// foreignRoleName names the Role and RoleBinding in another namespace;
// it includes the RestoreSession's namespace, which the name alone does not
// make unique there.
func foreignRoleName(rs *corev1alpha1.RestoreSession) string {
	return boundedName("restore-executor-"+rs.Namespace+"-"+rs.Name, 63)
}

// ensureExecutorPermissions creates the executor's ServiceAccount, and a
// Role and RoleBinding in every namespace holding an object it reads. In
// the RestoreSession's namespace they are owned by it and garbage-collected
// with it; in other namespaces they cannot be owned, so the finalizer is
// added first and releaseResources deletes them.
func (c *Controller) ensureExecutorPermissions(ctx context.Context, s *restoreState, serviceAccount string) error {
	rs := s.rs
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind(kindRestoreSession))}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: serviceAccount, Namespace: rs.Namespace, Labels: invokerLabels(rs), OwnerReferences: owner,
	}}
	if _, err := c.kubeClient.CoreV1().ServiceAccounts(rs.Namespace).Create(ctx, sa, metav1.CreateOptions{FieldManager: ControllerName}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating executor ServiceAccount: %w", err)
	}
	for ns, rules := range rulesByNamespace(executorGrants(s)) {
		meta := metav1.ObjectMeta{Name: serviceAccount, Namespace: ns, Labels: invokerLabels(rs), OwnerReferences: owner}
		if ns != rs.Namespace {
			if err := c.ensureFinalizer(ctx, s); err != nil {
				return err
			}
			meta.Name = foreignRoleName(rs)
			meta.OwnerReferences = nil
		}
		role := &rbacv1.Role{ObjectMeta: meta, Rules: rules}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: meta,
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: serviceAccount, Namespace: rs.Namespace}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: meta.Name},
		}
		if err := c.applyRole(ctx, role); err != nil {
			return err
		}
		if err := c.applyRoleBinding(ctx, binding); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) applyRole(ctx context.Context, role *rbacv1.Role) error {
	roles := c.kubeClient.RbacV1().Roles(role.Namespace)
	existing, err := roles.Get(ctx, role.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = roles.Create(ctx, role, metav1.CreateOptions{FieldManager: ControllerName})
		if err != nil {
			return fmt.Errorf("creating executor Role %s/%s: %w", role.Namespace, role.Name, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(existing.Rules, role.Rules) {
		return nil
	}
	existing = existing.DeepCopy()
	existing.Rules = role.Rules
	_, err = roles.Update(ctx, existing, metav1.UpdateOptions{FieldManager: ControllerName})
	return err
}

func (c *Controller) applyRoleBinding(ctx context.Context, binding *rbacv1.RoleBinding) error {
	bindings := c.kubeClient.RbacV1().RoleBindings(binding.Namespace)
	_, err := bindings.Create(ctx, binding, metav1.CreateOptions{FieldManager: ControllerName})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating executor RoleBinding %s/%s: %w", binding.Namespace, binding.Name, err)
	}
	return nil
}

// deleteForeignPermissions deletes the executor's Roles and RoleBindings in
// namespaces other than the RestoreSession's.
func (c *Controller) deleteForeignPermissions(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	selector := labels.SelectorFromSet(labels.Set{
		LabelInvokerName:      labelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
		LabelInvokerKind:      kindRestoreSession,
	}).String()
	opts := metav1.ListOptions{LabelSelector: selector}
	roles, err := c.kubeClient.RbacV1().Roles(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("listing executor Roles: %w", err)
	}
	for _, r := range roles.Items {
		if r.Namespace == rs.Namespace {
			continue
		}
		if err := c.kubeClient.RbacV1().Roles(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		klog.FromContext(ctx).V(2).Info("Deleted executor Role in another namespace", "role", klog.KObj(&r))
	}
	bindings, err := c.kubeClient.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("listing executor RoleBindings: %w", err)
	}
	for _, b := range bindings.Items {
		if b.Namespace == rs.Namespace {
			continue
		}
		if err := c.kubeClient.RbacV1().RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

package permissions

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
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/manifest"
	"github.com/restore-controller/restore/pkg/refs"
)

// Grant is one permission of a RestoreSession's Jobs: verbs on one named
// object, or on every object of the resource when Name is empty.
type Grant struct {
	Namespace, Group, Resource, Name string
	Verbs                            []string
}

// Objects are what a restore executor reads and writes: the objects refs
// resolved and allowed for the RestoreSession, so a grant outside the
// RestoreSession's namespace exists only with the consent of that
// namespace's owner.
type Objects struct {
	RestoreSession *corev1alpha1.RestoreSession
	Snapshot       *storagev1alpha1.Snapshot
	Repository     *storagev1alpha1.Repository
	Storage        *storagev1alpha1.BackupStorage
	// Secrets are the storage and encryption Secrets the RestoreSession
	// may read; nil entries are skipped.
	Secrets []*refs.Ref
	// ManifestNamespace is where a manifest restore creates objects;
	// empty for a restore without a manifest task.
	ManifestNamespace string
	// ClaimNamespace is where a volume snapshot restore creates PVCs;
	// empty for a restore without a volume snapshot task.
	ClaimNamespace string
}

// RestoreGrants are exactly the API calls the restore executor makes: GET
// of the objects it restores from, each by name, and a status patch of its
// own RestoreSession. Nothing can be listed or watched, and no other
// Secret can be read. A manifest restore adds the permissions to create
// what it restores (manifestGrants), a volume snapshot restore those to
// create PVCs (claimGrants).
func RestoreGrants(o Objects) []Grant {
	rs := o.RestoreSession
	core := corev1alpha1.SchemeGroupVersion.Group
	storage := storagev1alpha1.SchemeGroupVersion.Group
	grants := []Grant{
		{rs.Namespace, core, "restoresessions", rs.Name, []string{"get"}},
		{rs.Namespace, core, "restoresessions/status", rs.Name, []string{"get", "patch"}},
	}
	if o.Snapshot != nil {
		grants = append(grants, Grant{o.Snapshot.Namespace, storage, "snapshots", o.Snapshot.Name, []string{"get"}})
	}
	if o.Repository != nil {
		grants = append(grants, Grant{o.Repository.Namespace, storage, "repositories", o.Repository.Name, []string{"get"}})
	}
	if bs := o.Storage; bs != nil {
		grants = append(grants, Grant{bs.Namespace, storage, "backupstorages", bs.Name, []string{"get"}})
	}
	for _, secret := range o.Secrets {
		if secret != nil {
			grants = append(grants, Grant{secret.Namespace, "", "secrets", secret.Name, []string{"get"}})
		}
	}
	grants = append(grants, manifestGrants(o.ManifestNamespace, rs.Namespace)...)
	return append(grants, claimGrants(o.ClaimNamespace)...)
}

// claimGrants are the permissions in ns of a volume snapshot restore: get
// and create of PVCs (it creates them from VolumeSnapshots and refuses
// those that exist; their names come from the RestoreSession's templates
// and create cannot be limited by name anyway), list of Events (the
// persistentvolume-binder's WaitForFirstConsumer Event is how it learns a
// claim binds on first use, without reading cluster-scoped
// StorageClasses), and create of Events to say so on the RestoreSession.
func claimGrants(ns string) []Grant {
	if ns == "" {
		return nil
	}
	return []Grant{
		{ns, "", "persistentvolumeclaims", "", []string{"get", "create"}},
		{ns, "", "events", "", []string{"list", "create"}},
	}
}

// manifestGrants are the permissions in the restore namespace ns of a
// manifest restore: create of the kinds it creates (manifest.Plan accepts
// no others), and get to compare an object that exists already. The
// objects' names come from the snapshot, which the controller does not
// read, and create cannot be limited by name anyway, so these grants name
// no object. In another namespace than the RestoreSession's (own), Secrets
// get create only: the restore executor never reads a Secret of another namespace
// it was not named.
func manifestGrants(ns, own string) []Grant {
	if ns == "" {
		return nil
	}
	verbs := []string{"get", "create"}
	secretVerbs := verbs
	if ns != own {
		secretVerbs = []string{"create"}
	}
	grants := []Grant{{ns, "", "secrets", "", secretVerbs}}
	for _, db := range manifest.Databases {
		grants = append(grants, Grant{ns, manifest.KubeDBGroup, db.Resource, "", verbs})
	}
	return grants
}

// RulesByNamespace groups grants into one sorted rule list per namespace.
func RulesByNamespace(grants []Grant) map[string][]rbacv1.PolicyRule {
	type ruleKey struct{ group, resource, verbs string }
	names := map[string]map[ruleKey][]string{}
	for _, g := range grants {
		if names[g.Namespace] == nil {
			names[g.Namespace] = map[ruleKey][]string{}
		}
		k := ruleKey{g.Group, g.Resource, strings.Join(g.Verbs, ",")}
		if !slices.Contains(names[g.Namespace][k], g.Name) {
			names[g.Namespace][k] = append(names[g.Namespace][k], g.Name)
		}
	}
	out := map[string][]rbacv1.PolicyRule{}
	for ns, byKey := range names {
		// Sorted by resource, then verbs: rules of one resource with
		// different verbs must not come out in map order.
		keys := slices.SortedFunc(maps.Keys(byKey), func(a, b ruleKey) int {
			if c := strings.Compare(a.group+"/"+a.resource, b.group+"/"+b.resource); c != 0 {
				return c
			}
			return strings.Compare(a.verbs, b.verbs)
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

// Granter creates and removes a RestoreSession's ServiceAccount, Roles and
// RoleBindings through the API.
type Granter struct {
	Client kubernetes.Interface
	// FieldManager is the field manager of every write.
	FieldManager string
}

// Request is a ServiceAccount and the grants it gets.
type Request struct {
	// Namespace and ServiceAccount name the ServiceAccount the grants are
	// bound to.
	Namespace, ServiceAccount string
	// CreateServiceAccount: the ServiceAccount is the RestoreSession's
	// own, created (and owned) here; otherwise it is the user's, which
	// must exist and is never modified.
	CreateServiceAccount bool
	// Name names the Role and RoleBinding in Namespace: one per
	// RestoreSession, also when several share a user's ServiceAccount.
	Name string
	// ForeignName names the Role and RoleBinding in every other namespace.
	ForeignName string
	// Labels go on every object; in other namespaces they are how
	// RevokeForeign finds the objects again.
	Labels map[string]string
	// Owner is the controller reference of the objects in Namespace.
	Owner  metav1.OwnerReference
	Grants []Grant
	// BeforeForeign runs before anything is created in another namespace:
	// objects there cannot be owned, so the caller makes sure that they
	// are removed later (the RestoreSession's finalizer).
	BeforeForeign func(context.Context) error
}

// Ensure creates the ServiceAccount when it is the RestoreSession's own,
// and a Role and RoleBinding in every namespace holding an object a grant
// names, bound to the ServiceAccount, whether the controller's or the
// user's. In the request's namespace they are owned by the request's
// owner and garbage-collected with it; other namespaces get unowned ones,
// which RevokeForeign deletes. A Role whose rules changed is updated.
func (g Granter) Ensure(ctx context.Context, req Request) error {
	owner := []metav1.OwnerReference{req.Owner}
	if req.CreateServiceAccount {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Name: req.ServiceAccount, Namespace: req.Namespace, Labels: req.Labels, OwnerReferences: owner,
		}}
		if _, err := g.Client.CoreV1().ServiceAccounts(req.Namespace).Create(ctx, sa, metav1.CreateOptions{FieldManager: g.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating executor ServiceAccount: %w", err)
		}
	}
	for ns, rules := range RulesByNamespace(req.Grants) {
		meta := metav1.ObjectMeta{Name: req.Name, Namespace: ns, Labels: req.Labels, OwnerReferences: owner}
		if ns != req.Namespace {
			if req.BeforeForeign != nil {
				if err := req.BeforeForeign(ctx); err != nil {
					return err
				}
			}
			meta.Name = req.ForeignName
			meta.OwnerReferences = nil
		}
		role := &rbacv1.Role{ObjectMeta: meta, Rules: rules}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: meta,
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: req.ServiceAccount, Namespace: req.Namespace}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: meta.Name},
		}
		if err := g.applyRole(ctx, role); err != nil {
			return err
		}
		if err := g.applyRoleBinding(ctx, binding); err != nil {
			return err
		}
	}
	return nil
}

// applyRole creates the Role, or brings the rules of an existing one up
// to date. Create comes first: a Role is made once per RestoreSession, and
// reading it before would cost every new restore one more request.
func (g Granter) applyRole(ctx context.Context, role *rbacv1.Role) error {
	roles := g.Client.RbacV1().Roles(role.Namespace)
	_, err := roles.Create(ctx, role, metav1.CreateOptions{FieldManager: g.FieldManager})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating executor Role %s/%s: %w", role.Namespace, role.Name, err)
	}
	existing, err := roles.Get(ctx, role.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(existing.Rules, role.Rules) {
		return nil
	}
	existing = existing.DeepCopy()
	existing.Rules = role.Rules
	_, err = roles.Update(ctx, existing, metav1.UpdateOptions{FieldManager: g.FieldManager})
	return err
}

// applyRoleBinding creates the RoleBinding unless it exists. An existing
// one is right: its Role and subject follow from the RestoreSession's
// spec, which is immutable.
func (g Granter) applyRoleBinding(ctx context.Context, binding *rbacv1.RoleBinding) error {
	bindings := g.Client.RbacV1().RoleBindings(binding.Namespace)
	_, err := bindings.Create(ctx, binding, metav1.CreateOptions{FieldManager: g.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating executor RoleBinding %s/%s: %w", binding.Namespace, binding.Name, err)
	}
	return nil
}

// RevokeForeign deletes the Roles and RoleBindings that selector selects
// in every namespace but namespace, whose own are owned and
// garbage-collected.
func (g Granter) RevokeForeign(ctx context.Context, namespace string, selector labels.Selector) error {
	opts := metav1.ListOptions{LabelSelector: selector.String()}
	roles, err := g.Client.RbacV1().Roles(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("listing executor Roles: %w", err)
	}
	for _, r := range roles.Items {
		if r.Namespace == namespace {
			continue
		}
		if err := g.Client.RbacV1().Roles(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		klog.FromContext(ctx).V(2).Info("Deleted a Role of the restore executor in another namespace", "role", klog.KObj(&r))
	}
	bindings, err := g.Client.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("listing executor RoleBindings: %w", err)
	}
	for _, b := range bindings.Items {
		if b.Namespace == namespace {
			continue
		}
		if err := g.Client.RbacV1().RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

package admission

// Multi-tenancy: the ValidatingAdmissionPolicy of artifacts/admission lets
// a RestoreSession reach other namespaces only where the user creating it
// could, and artifacts/rbac/user-roles.yaml aggregates RestoreSessions into
// the built-in view, edit and admin ClusterRoles. Users are impersonated
// through the admin config; the cluster runs kube-controller-manager's
// clusterrole-aggregation controller, which fills view, edit and admin.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

const (
	// tenantNS is the tenant's namespace: users there are bound to the
	// built-in ClusterRoles (or to narrower Roles).
	tenantNS = "tenant"
	// otherNS holds what the tenant must not reach unless granted.
	otherNS = "other"

	policyName = "restore-controller-restoresession-permissions"
	// policyDenied prefixes every denial of the policy.
	policyDenied = "ValidatingAdmissionPolicy '" + policyName + "' with binding '" + policyName + "' denied request: "
)

// The users, all impersonated.
const (
	tenant     = "tenant"      // admin in tenantNS; get on Repository shared-repo and create Secrets in otherNS
	viewer     = "viewer"      // view in tenantNS
	editor     = "editor"      // edit in tenantNS
	restorer   = "restorer"    // a Role in tenantNS: RestoreSessions only
	hookRunner = "hook-runner" // a Role in tenantNS: RestoreSessions and pods/exec
)

// clusterWide are users bound to admin, edit and view in every namespace
// (ClusterRoleBindings), for what the roles hold outside namespaces.
var clusterWide = map[string]string{"global-admin": "admin", "global-edit": "edit", "global-view": "view"}

var tenancy framework.Once[struct{}]

// setupTenancy installs the CRDs, the policy (`kubectl apply -k
// artifacts/admission`) and the users' ClusterRoles, creates the
// namespaces and the users' bindings, and returns once the aggregated
// roles grant what they should and the policy rejects what it should.
func setupTenancy(t *testing.T) {
	t.Helper()
	setup(t)
	tenancy.Do(t, "setting up tenancy", func() (struct{}, error) { return struct{}{}, doSetupTenancy() })
}

func doSetupTenancy() error {
	ctx := context.Background()
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := framework.Kubectl(c.KubeconfigPath(), "", "apply", "-k", filepath.Join(root, "artifacts", "admission")); err != nil {
		return err
	}
	if _, err := framework.Kubectl(c.KubeconfigPath(), "", "apply", "-f", filepath.Join(root, "artifacts", "rbac", "user-roles.yaml")); err != nil {
		return err
	}

	kc := c.Client()
	for _, ns := range []string{tenantNS, otherNS} {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	roles := []*rbacv1.Role{
		{ObjectMeta: metav1.ObjectMeta{Name: "restore-only", Namespace: tenantNS}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "restore-and-exec", Namespace: tenantNS}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shared-repo", Namespace: otherNS}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, ResourceNames: []string{"shared-repo"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		}},
	}
	for _, r := range roles {
		if _, err := kc.RbacV1().Roles(r.Namespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	bindings := []struct{ ns, user, kind, role string }{
		{tenantNS, tenant, "ClusterRole", "admin"},
		{tenantNS, editor, "ClusterRole", "edit"},
		{tenantNS, viewer, "ClusterRole", "view"},
		{tenantNS, restorer, "Role", "restore-only"},
		{tenantNS, hookRunner, "Role", "restore-and-exec"},
		{otherNS, tenant, "Role", "shared-repo"},
	}
	for _, b := range bindings {
		if err := bindUser(ctx, b.ns, b.user, b.kind, b.role); err != nil {
			return err
		}
	}
	for user, role := range clusterWide {
		if _, err := kc.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}

	// Aggregation into admin, edit and view is asynchronous, and the RBAC
	// authorizer sees new bindings through an informer.
	for _, want := range []struct {
		user     string
		ns       string
		verb     string
		group    string
		resource string
	}{
		{tenant, tenantNS, "create", "core.kubestash.com", "restoresessions"},
		{editor, tenantNS, "delete", "core.kubestash.com", "restoresessions"},
		{viewer, tenantNS, "list", "storage.kubestash.com", "snapshots"},
		{restorer, tenantNS, "create", "core.kubestash.com", "restoresessions"},
		{hookRunner, tenantNS, "create", "core.kubestash.com", "restoresessions"},
		{tenant, otherNS, "create", "", "secrets"},
		{"global-admin", "", "create", "core.kubestash.com", "restoresessions"},
		{"global-edit", "", "create", "core.kubestash.com", "restoresessions"},
		{"global-view", "", "list", "core.kubestash.com", "restoresessions"},
	} {
		attrs := &authorizationv1.ResourceAttributes{Namespace: want.ns, Verb: want.verb, Group: want.group, Resource: want.resource}
		if err := waitAllowed(ctx, want.user, attrs); err != nil {
			return err
		}
	}

	// A new policy takes a moment to be compiled and enforced: retry a
	// create it must reject until it does.
	probe := tenantRestore("policy-probe", "dataSource: {repository: repo, snapshot: latest, encryptionSecret: {name: x, namespace: kube-system}}")
	a, err := framework.NewApplier(impersonate(tenant))
	if err != nil {
		return err
	}
	admin, err := framework.NewApplier(c.Config())
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, last = a.Create(ctx, probe)
		if last == nil {
			return false, admin.Delete(ctx, probe)
		}
		return strings.Contains(last.Error(), policyDenied), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for policy %s to reject a RestoreSession: %w; last create: %v", policyName, err, last)
	}
	return nil
}

// bindUser binds user to the ClusterRole or Role named role in namespace ns.
func bindUser(ctx context.Context, ns, user, kind, role string) error {
	_, err := c.Client().RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + strings.ToLower(kind) + "-" + role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}, metav1.CreateOptions{})
	return err
}

// waitAllowed waits until a SubjectAccessReview allows user attrs.
func waitAllowed(ctx context.Context, user string, attrs *authorizationv1.ResourceAttributes) error {
	var reason string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		sar, err := c.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"}, ResourceAttributes: attrs},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		reason = sar.Status.Reason
		return sar.Status.Allowed, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for user %q to be allowed %+v: %w (last reason %q)", user, *attrs, err, reason)
	}
	return nil
}

// impersonate is the admin config acting as user (who also gets the group
// system:authenticated, as every impersonated user does).
func impersonate(user string) *rest.Config {
	cfg := c.Config()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return cfg
}

// applierAs is an Applier acting as user.
func applierAs(t *testing.T, user string) *framework.Applier {
	t.Helper()
	a, err := framework.NewApplier(impersonate(user))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tenantRestore is a RestoreSession named name in tenantNS with spec lines
// (indented by two spaces) added; a default addon and dataSource (a
// Repository in tenantNS) fill what the lines leave out.
func tenantRestore(name string, spec ...string) string {
	doc := fmt.Sprintf("apiVersion: core.kubestash.com/v1alpha1\nkind: RestoreSession\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n", name, tenantNS)
	for _, l := range spec {
		doc += "  " + l + "\n"
	}
	if !strings.Contains(doc, "\n  addon:") {
		doc += "  addon:\n    name: workload-addon\n    tasks:\n    - name: logical-backup-restore\n"
	}
	if !strings.Contains(doc, "\n  dataSource:") {
		doc += "  dataSource: {repository: repo, snapshot: latest}\n"
	}
	return doc
}

// mustCreate creates doc with a, failing the test if it is rejected, and
// deletes it (as admin) when the test ends.
func mustCreate(t *testing.T, a *framework.Applier, doc string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Create(ctx, doc); err != nil {
		t.Fatalf("rejected: %v", err)
	}
	t.Cleanup(func() {
		admin, err := framework.NewApplier(c.Config())
		if err == nil {
			err = admin.Delete(ctx, doc)
		}
		if err != nil {
			t.Errorf("deleting: %v", err)
		}
	})
}

// wantPolicyDenial fails the test unless err is the policy's Forbidden
// denial with message want.
func wantPolicyDenial(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted, want the policy's denial %q", want)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("error is not Forbidden (%v): %v", apierrors.ReasonForError(err), err)
	}
	if !strings.Contains(err.Error(), policyDenied+want) {
		t.Errorf("error %q\ndoes not contain %q", err, policyDenied+want)
	}
}

// wantRBACDenial fails the test unless err is RBAC's Forbidden answer to
// verb on resource.
func wantRBACDenial(t *testing.T, err error, user, verb, resource string) {
	t.Helper()
	want := fmt.Sprintf("User %q cannot %s resource %q", user, verb, resource)
	if err == nil {
		t.Fatalf("allowed, want %q", want)
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want Forbidden: %q", err, want)
	}
}

// tenancyCases are RestoreSessions that reach beyond what their user may
// do: the policy rejects each with the message in want (after the
// policy's prefix), and admits each for a cluster admin.
var tenancyCases = []struct {
	name string
	user string
	spec []string
	want string
}{
	{
		name: "repository in another namespace",
		user: tenant,
		spec: []string{"dataSource: {namespace: other, repository: private-repo, snapshot: private-snap}"},
		want: `spec.dataSource.repository: user "tenant" may not get repositories.storage.kubestash.com "private-repo" in namespace "other"`,
	},
	{
		name: "snapshot by name in another namespace",
		user: tenant,
		spec: []string{"dataSource: {namespace: other, snapshot: private-snap}"},
		want: `spec.dataSource.snapshot: user "tenant" may not get snapshots.storage.kubestash.com "private-snap" in namespace "other"`,
	},
	{
		// The tenant may get Repository shared-repo but not list its Snapshots.
		name: "latest snapshot in another namespace",
		user: tenant,
		spec: []string{"dataSource: {namespace: other, repository: shared-repo, snapshot: latest}"},
		want: `spec.dataSource.snapshot: user "tenant" may not list snapshots.storage.kubestash.com in namespace "other"`,
	},
	{
		name: "encryption secret in kube-system",
		user: tenant,
		spec: []string{"dataSource: {repository: repo, snapshot: latest, encryptionSecret: {name: x, namespace: kube-system}}"},
		want: `spec.dataSource.encryptionSecret: user "tenant" may not get secrets "x" in namespace "kube-system"`,
	},
	{
		name: "pre-restore hook's template in another namespace",
		user: tenant,
		spec: []string{"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht, namespace: other}}]"},
		want: `spec.hooks.preRestore[0].hookTemplate: user "tenant" may not get hooktemplates.core.kubestash.com "ht" in namespace "other"`,
	},
	{
		name: "second post-restore hook's template in another namespace",
		user: tenant,
		spec: []string{"hooks:",
			"  preRestore: [{name: freeze, hookTemplate: {name: local-ht, namespace: tenant}}]",
			"  postRestore: [{name: thaw, hookTemplate: {name: local-ht}}, {name: notify, hookTemplate: {name: ht2, namespace: other}}]"},
		want: `spec.hooks.postRestore[1].hookTemplate: user "tenant" may not get hooktemplates.core.kubestash.com "ht2" in namespace "other"`,
	},
	{
		name: "more than four hook templates in other namespaces",
		user: tenant,
		spec: []string{"hooks:",
			"  preRestore: [{name: a, hookTemplate: {name: ht1, namespace: other}}, {name: b, hookTemplate: {name: ht2, namespace: other}}, {name: c, hookTemplate: {name: ht3, namespace: other}}]",
			// ht1 again counts once.
			"  postRestore: [{name: d, hookTemplate: {name: ht4, namespace: other}}, {name: e, hookTemplate: {name: ht5, namespace: other}}, {name: f, hookTemplate: {name: ht1, namespace: other}}]"},
		want: `spec.hooks: user "tenant" may not get hooktemplates.core.kubestash.com in all namespaces, which is required when hooks name more than 4 HookTemplates in other namespaces (these name 5)`,
	},
	{
		name: "hooks without pods/exec",
		user: restorer,
		spec: []string{"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht}}]"},
		want: `spec.hooks: user "restorer" may not create pods/exec in namespace "tenant", which hooks need`,
	},
	{
		name: "manifest restore into kube-system",
		user: tenant,
		spec: []string{"manifestOptions: {restoreNamespace: kube-system}"},
		want: `spec.manifestOptions.restoreNamespace: user "tenant" may not create secrets in namespace "kube-system"`,
	},
	{
		// KubeStash's current shape: the namespace is named per database.
		name: "manifest restore into kube-system, named per database",
		user: tenant,
		spec: []string{"manifestOptions: {postgres: {restoreNamespace: kube-system}}"},
		want: `spec.manifestOptions.restoreNamespace: user "tenant" may not create secrets in namespace "kube-system"`,
	},
	{
		// The tenant may create Secrets in otherNS, not KubeDB databases.
		name: "manifest restore where only Secrets may be created",
		user: tenant,
		spec: []string{"manifestOptions: {restoreNamespace: other, postgres: {dbName: pg}}"},
		want: `spec.manifestOptions.restoreNamespace: user "tenant" may not create mongodbs.kubedb.com in namespace "other"`,
	},
	{
		name: "restore job's service account without jobs create",
		user: restorer,
		spec: []string{"addon:", "  name: workload-addon", "  tasks: [{name: logical-backup-restore}]", "  jobTemplate: {spec: {serviceAccountName: custom-sa}}"},
		want: `spec.addon.jobTemplate.spec.serviceAccountName: user "restorer" may not create jobs.batch in namespace "tenant"`,
	},
	{
		name: "hook job's service account without jobs create",
		user: hookRunner,
		spec: []string{"hooks:", "  postRestore: [{name: notify, hookTemplate: {name: ht}, runtimeSettings: {pod: {serviceAccountName: notifier}}}]"},
		want: `spec.hooks.postRestore[0].runtimeSettings.pod.serviceAccountName: user "hook-runner" may not create jobs.batch in namespace "tenant"`,
	},
}

func TestPermissionPolicyRejects(t *testing.T) {
	setupTenancy(t)
	ctx := context.Background()
	for i, tc := range tenancyCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applierAs(t, tc.user).Create(ctx, tenantRestore(fmt.Sprintf("denied-%d", i), tc.spec...))
			wantPolicyDenial(t, err, tc.want)
		})
	}
}

func TestPermissionPolicyAdmitsClusterAdmin(t *testing.T) {
	setupTenancy(t)
	admin, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tenancyCases {
		t.Run(tc.name, func(t *testing.T) {
			mustCreate(t, admin, tenantRestore(fmt.Sprintf("admin-%d", i), tc.spec...))
		})
	}
}

func TestPermissionPolicyAdmitsOwnNamespace(t *testing.T) {
	setupTenancy(t)
	cases := []struct {
		name string
		user string
		spec []string
	}{
		{
			// Everything named explicitly in the tenant's own namespace.
			name: "tenant, every reference in its namespace",
			user: tenant,
			spec: []string{
				"dataSource: {namespace: tenant, repository: repo, snapshot: latest, encryptionSecret: {name: enc, namespace: tenant}}",
				"addon:", "  name: workload-addon", "  tasks: [{name: logical-backup-restore}]", "  jobTemplate: {spec: {serviceAccountName: restore-sa}}",
				"hooks:",
				"  preRestore: [{name: freeze, hookTemplate: {name: ht, namespace: tenant}, runtimeSettings: {pod: {serviceAccountName: hook-sa}}}]",
				"  postRestore: [{name: thaw, hookTemplate: {name: ht}}]",
				"manifestOptions: {restoreNamespace: tenant}",
			},
		},
		{
			name: "tenant, snapshot by name",
			user: tenant,
			spec: []string{"dataSource: {snapshot: snap-1, encryptionSecret: {name: enc}}"},
		},
		{
			// Neither hooks nor a ServiceAccount: RestoreSessions alone suffice.
			name: "restorer, plain restore",
			user: restorer,
			spec: []string{"dataSource: {repository: repo, snapshot: latest}"},
		},
		{
			name: "hook runner, hooks in its namespace",
			user: hookRunner,
			spec: []string{"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht}}]"},
		},
		{
			name: "editor, hooks and a job service account",
			user: editor,
			spec: []string{
				"addon:", "  name: workload-addon", "  tasks: [{name: logical-backup-restore}]", "  jobTemplate: {spec: {serviceAccountName: restore-sa}}",
				"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht}}]",
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustCreate(t, applierAs(t, tc.user), tenantRestore(fmt.Sprintf("own-%d", i), tc.spec...))
		})
	}
}

// TestPermissionPolicyFollowsGrants: what the tenant is refused in otherNS
// is admitted once a RoleBinding there grants get on exactly the objects
// the RestoreSession names.
func TestPermissionPolicyFollowsGrants(t *testing.T) {
	setupTenancy(t)
	ctx := context.Background()
	a := applierAs(t, tenant)
	doc := tenantRestore("granted",
		"dataSource: {namespace: other, repository: granted-repo, snapshot: granted-snap, encryptionSecret: {name: granted-key, namespace: other}}",
		"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: granted-ht, namespace: other}}]")

	_, err := a.Create(ctx, doc)
	wantPolicyDenial(t, err, `spec.dataSource.repository: user "tenant" may not get repositories.storage.kubestash.com "granted-repo" in namespace "other"`)

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "granted", Namespace: otherNS}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, ResourceNames: []string{"granted-repo"}, Verbs: []string{"get"}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, ResourceNames: []string{"granted-snap"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"granted-key"}, Verbs: []string{"get"}},
		{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"hooktemplates"}, ResourceNames: []string{"granted-ht"}, Verbs: []string{"get"}},
	}}
	if _, err := c.Client().RbacV1().Roles(otherNS).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client().RbacV1().Roles(otherNS).Delete(ctx, role.Name, metav1.DeleteOptions{}) })
	if err := bindUser(ctx, otherNS, tenant, "Role", role.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client().RbacV1().RoleBindings(otherNS).Delete(ctx, tenant+"-role-"+role.Name, metav1.DeleteOptions{})
	})

	// The RBAC authorizer sees the binding through an informer.
	var last error
	framework.Poll(t, 30*time.Second, "the tenant's RestoreSession to be admitted after the grant", func(ctx context.Context) (bool, string, error) {
		_, last = a.Create(ctx, doc)
		if last != nil {
			return false, last.Error(), nil
		}
		return true, "", nil
	})
	t.Cleanup(func() {
		if admin, err := framework.NewApplier(c.Config()); err == nil {
			_ = admin.Delete(ctx, doc)
		}
	})

	// get on one Repository does not let the tenant find its latest
	// Snapshot, which takes listing the namespace's Snapshots.
	_, err = a.Create(ctx, tenantRestore("granted-latest", "dataSource: {namespace: other, repository: granted-repo, snapshot: latest}"))
	wantPolicyDenial(t, err, `spec.dataSource.snapshot: user "tenant" may not list snapshots.storage.kubestash.com in namespace "other"`)
}

// TestPermissionPolicySkipsUpdatesKeepingTheSpec: the policy judges only
// creates and spec changes, so the controller's (or anyone's) finalizer
// and annotation updates pass even for a user who could not have created
// the RestoreSession.
func TestPermissionPolicySkipsUpdatesKeepingTheSpec(t *testing.T) {
	setupTenancy(t)
	ctx := context.Background()
	doc := tenantRestore("admin-made",
		"dataSource: {namespace: other, repository: private-repo, snapshot: private-snap}",
		"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht, namespace: other}}]")
	admin, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, admin, doc)

	a := applierAs(t, tenant)
	_, err = a.Create(ctx, strings.Replace(doc, "name: admin-made", "name: tenant-made", 1))
	wantPolicyDenial(t, err, `spec.dataSource.repository: user "tenant" may not get repositories.storage.kubestash.com "private-repo" in namespace "other"`)

	// An annotation, by update.
	if _, err := a.Update(ctx, strings.Replace(doc, "  name: admin-made\n", "  name: admin-made\n  annotations: {example.com/note: checked}\n", 1)); err != nil {
		t.Fatalf("tenant adding an annotation: %v", err)
	}
	// A finalizer, by patch, then removed again.
	dyn, err := dynamic.NewForConfig(impersonate(tenant))
	if err != nil {
		t.Fatal(err)
	}
	rs := dyn.Resource(schema.GroupVersionResource{Group: "core.kubestash.com", Version: "v1alpha1", Resource: "restoresessions"}).Namespace(tenantNS)
	for _, patch := range []string{`{"metadata":{"finalizers":["example.com/hold"]}}`, `{"metadata":{"finalizers":null}}`} {
		if _, err := rs.Patch(ctx, "admin-made", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("tenant patching %s: %v", patch, err)
		}
	}
	got, err := rs.Get(ctx, "admin-made", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAnnotations()["example.com/note"] != "checked" || len(got.GetFinalizers()) != 0 {
		t.Errorf("after the tenant's updates: annotations %v finalizers %v", got.GetAnnotations(), got.GetFinalizers())
	}
}

// TestAggregatedRoles: the users' ClusterRoles reach the built-in roles.
func TestAggregatedRoles(t *testing.T) {
	setupTenancy(t)
	ctx := context.Background()
	admin, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("admin creates and deletes RestoreSessions in its namespace only", func(t *testing.T) {
		a := applierAs(t, tenant)
		doc := tenantRestore("by-admin")
		if _, err := a.Create(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if err := a.Delete(ctx, doc); err != nil {
			t.Fatal(err)
		}
		_, err := a.Create(ctx, strings.Replace(doc, "namespace: "+tenantNS, "namespace: "+otherNS, 1))
		wantRBACDenial(t, err, tenant, "create", "restoresessions")
	})

	t.Run("edit creates and deletes RestoreSessions", func(t *testing.T) {
		a := applierAs(t, editor)
		doc := tenantRestore("by-editor")
		if _, err := a.Create(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if err := a.Delete(ctx, doc); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("view reads RestoreSessions, Snapshots and Repositories, changes none", func(t *testing.T) {
		for _, doc := range []string{
			tenantRestore("to-view"),
			"apiVersion: storage.kubestash.com/v1alpha1\nkind: Repository\nmetadata: {name: repo, namespace: tenant}\nspec: {storageRef: {name: storage, namespace: tenant}, path: /tenant/app}\n",
			"apiVersion: storage.kubestash.com/v1alpha1\nkind: Snapshot\nmetadata: {name: snap-1, namespace: tenant, labels: {kubestash.com/repo-name: repo}}\nspec: {repository: repo}\n",
		} {
			mustCreate(t, admin, doc)
		}
		dyn, err := dynamic.NewForConfig(impersonate(viewer))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			gvr  schema.GroupVersionResource
			name string
		}{
			{schema.GroupVersionResource{Group: "core.kubestash.com", Version: "v1alpha1", Resource: "restoresessions"}, "to-view"},
			{schema.GroupVersionResource{Group: "storage.kubestash.com", Version: "v1alpha1", Resource: "repositories"}, "repo"},
			{schema.GroupVersionResource{Group: "storage.kubestash.com", Version: "v1alpha1", Resource: "snapshots"}, "snap-1"},
		} {
			if _, err := dyn.Resource(r.gvr).Namespace(tenantNS).Get(ctx, r.name, metav1.GetOptions{}); err != nil {
				t.Errorf("viewer getting %s %s: %v", r.gvr.Resource, r.name, err)
			}
			if list, err := dyn.Resource(r.gvr).Namespace(tenantNS).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) == 0 {
				t.Errorf("viewer listing %s: %v", r.gvr.Resource, err)
			}
		}
		v := applierAs(t, viewer)
		_, err = v.Create(ctx, tenantRestore("by-viewer"))
		wantRBACDenial(t, err, viewer, "create", "restoresessions")
		err = v.Delete(ctx, tenantRestore("to-view"))
		wantRBACDenial(t, err, viewer, "delete", "restoresessions")
	})

	// BackupStorages, Addons and Functions stay with cluster admins, even
	// for users bound to admin, edit or view in every namespace.
	t.Run("nobody with admin, edit or view creates BackupStorages, Addons or Functions", func(t *testing.T) {
		docs := map[string]string{
			"backupstorages": "apiVersion: storage.kubestash.com/v1alpha1\nkind: BackupStorage\nmetadata: {name: mine, namespace: tenant}\nspec: {storage: {provider: local, local: {mountPath: /kopia, emptyDir: {}}}}\n",
			"addons":         "apiVersion: addons.kubestash.com/v1alpha1\nkind: Addon\nmetadata: {name: mine}\nspec: {restoreTasks: [{name: t, function: f}]}\n",
			"functions":      "apiVersion: addons.kubestash.com/v1alpha1\nkind: Function\nmetadata: {name: mine}\nspec: {image: example.com/mine:1}\n",
		}
		users := []string{tenant, editor, viewer}
		for user := range clusterWide {
			users = append(users, user)
		}
		for _, user := range users {
			a := applierAs(t, user)
			for resource, doc := range docs {
				_, err := a.Create(ctx, doc)
				if err == nil {
					_ = admin.Delete(ctx, doc)
				}
				wantRBACDenial(t, err, user, "create", resource)
			}
		}
	})
}

// TestPermissionPolicyTypeChecks: the API server type-checks the policy's
// expressions against the RestoreSession CRD's schema and reports any
// mistake (a misspelt field, a wrong type) as a warning in its status.
func TestPermissionPolicyTypeChecks(t *testing.T) {
	setupTenancy(t)
	policies := c.Client().AdmissionregistrationV1().ValidatingAdmissionPolicies()
	framework.Poll(t, 30*time.Second, "the policy's type checking", func(ctx context.Context) (bool, string, error) {
		p, err := policies.Get(ctx, policyName, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if p.Status.ObservedGeneration != p.Generation || p.Status.TypeChecking == nil {
			return false, fmt.Sprintf("observed generation %d of %d, typeChecking %v", p.Status.ObservedGeneration, p.Generation, p.Status.TypeChecking), nil
		}
		for _, w := range p.Status.TypeChecking.ExpressionWarnings {
			t.Errorf("%s: %s", w.FieldRef, w.Warning)
		}
		return true, "", nil
	})
}

package permissions

import (
	"context"
	"errors"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

const (
	testNS     = "demo"
	testDataNS = "backups"
)

func testObjects(dataNS string) Objects {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: dataNS} }
	return Objects{
		RestoreSession: &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "sample-restore", Namespace: testNS}},
		Snapshot:       &storagev1alpha1.Snapshot{ObjectMeta: meta("snap")},
		Repository:     &storagev1alpha1.Repository{ObjectMeta: meta("repo")},
		Storage:        &storagev1alpha1.BackupStorage{ObjectMeta: meta("storage")},
		Secrets:        []*refs.Ref{nil, {Namespace: dataNS, Name: "encrypt-secret"}},
	}
}

func TestRestoreGrants(t *testing.T) {
	get := []string{"get"}
	for _, tc := range []struct {
		name string
		in   Objects
		want map[string][]rbacv1.PolicyRule
	}{{
		name: "everything in the RestoreSession's namespace: one Role naming each object",
		in:   testObjects(testNS),
		want: map[string][]rbacv1.PolicyRule{testNS: {
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: get, ResourceNames: []string{"encrypt-secret"}},
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: get, ResourceNames: []string{"sample-restore"}},
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{"sample-restore"}},
			{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"backupstorages"}, Verbs: get, ResourceNames: []string{"storage"}},
			{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, Verbs: get, ResourceNames: []string{"repo"}},
			{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, Verbs: get, ResourceNames: []string{"snap"}},
		}},
	}, {
		name: "data in another namespace: its objects are granted there",
		in:   testObjects(testDataNS),
		want: map[string][]rbacv1.PolicyRule{
			testNS: {
				{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: get, ResourceNames: []string{"sample-restore"}},
				{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{"sample-restore"}},
			},
			testDataNS: {
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: get, ResourceNames: []string{"encrypt-secret"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"backupstorages"}, Verbs: get, ResourceNames: []string{"storage"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, Verbs: get, ResourceNames: []string{"repo"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, Verbs: get, ResourceNames: []string{"snap"}},
			},
		},
	}, {
		name: "objects refused since (nil) get no grant",
		in:   Objects{RestoreSession: testObjects(testNS).RestoreSession, Secrets: []*refs.Ref{nil, nil}},
		want: map[string][]rbacv1.PolicyRule{testNS: {
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: get, ResourceNames: []string{"sample-restore"}},
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{"sample-restore"}},
		}},
	}, {
		name: "a volume snapshot restore creates PVCs and lists and creates Events, by no name",
		in: func() Objects {
			o := Objects{RestoreSession: testObjects(testNS).RestoreSession}
			o.ClaimNamespace = testNS
			return o
		}(),
		want: map[string][]rbacv1.PolicyRule{testNS: {
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "create"}},
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get", "create"}},
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: get, ResourceNames: []string{"sample-restore"}},
			{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{"sample-restore"}},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RulesByNamespace(RestoreGrants(tc.in)); !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("rules =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestManifestGrants: a manifest restore may create (and get) the kinds it
// restores in the restore namespace, by no name; in another namespace it
// may not read Secrets.
func TestManifestGrants(t *testing.T) {
	for _, tc := range []struct {
		ns          string
		secretVerbs []string
	}{
		{testNS, []string{"get", "create"}},
		{"db", []string{"create"}},
	} {
		o := testObjects(testNS)
		o.ManifestNamespace = tc.ns
		rules := RulesByNamespace(RestoreGrants(o))[tc.ns]
		var secrets, kubedb int
		for _, r := range rules {
			switch {
			case r.Resources[0] == "secrets" && r.ResourceNames == nil:
				secrets++
				if !slices.Equal(r.Verbs, tc.secretVerbs) {
					t.Errorf("%s: secrets verbs %v, want %v", tc.ns, r.Verbs, tc.secretVerbs)
				}
			case r.APIGroups[0] == "kubedb.com":
				kubedb++
				if r.ResourceNames != nil || !slices.Equal(r.Verbs, []string{"get", "create"}) {
					t.Errorf("%s: %+v", tc.ns, r)
				}
			}
		}
		if secrets != 1 || kubedb == 0 {
			t.Errorf("%s: %d unnamed secrets rules and %d kubedb rules in %+v", tc.ns, secrets, kubedb, rules)
		}
	}
}

func TestRulesByNamespace(t *testing.T) {
	got := RulesByNamespace([]Grant{
		{"a", "g", "things", "y", []string{"get"}},
		{"a", "g", "things", "x", []string{"get"}},
		{"a", "g", "things", "x", []string{"get"}}, // a duplicate
		{"a", "g", "things", "", []string{"get", "create"}},
		{"b", "", "secrets", "s", []string{"get"}},
	})
	want := map[string][]rbacv1.PolicyRule{
		"a": {
			{APIGroups: []string{"g"}, Resources: []string{"things"}, Verbs: []string{"get"}, ResourceNames: []string{"x", "y"}},
			{APIGroups: []string{"g"}, Resources: []string{"things"}, Verbs: []string{"get", "create"}},
		},
		"b": {{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"s"}}},
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("rules =\n%+v\nwant\n%+v", got, want)
	}
}

// TestEnsureAndRevoke: the ServiceAccount and the Role and RoleBinding in
// its namespace are owned; in another namespace they are not, are created
// only after BeforeForeign, and RevokeForeign deletes them (and only them).
func TestEnsureAndRevoke(t *testing.T) {
	ctx := context.Background()
	client := k8sfake.NewClientset()
	g := Granter{Client: client, FieldManager: "test"}
	owner := metav1.OwnerReference{APIVersion: "core.kubestash.com/v1alpha1", Kind: "RestoreSession", Name: "sample-restore", UID: "uid-1", Controller: ptr.To(true)}
	selector := labels.SelectorFromSet(labels.Set{"kubestash.com/invoker-name": "sample-restore"})
	req := Request{
		Namespace: testNS, ServiceAccount: "restore-executor-sample-restore", CreateServiceAccount: true,
		Name: "restore-executor-sample-restore", ForeignName: "restore-executor-demo-sample-restore",
		Labels: map[string]string{"kubestash.com/invoker-name": "sample-restore"}, Owner: owner,
		Grants: RestoreGrants(testObjects(testDataNS)),
	}
	req.BeforeForeign = func(context.Context) error { return errors.New("no finalizer") }
	if err := g.Ensure(ctx, req); err == nil {
		t.Fatal("Ensure went on after BeforeForeign failed")
	}
	if _, err := client.RbacV1().Roles(testDataNS).Get(ctx, req.ForeignName, metav1.GetOptions{}); err == nil {
		t.Error("a Role was created in another namespace although BeforeForeign failed")
	}
	called := 0
	req.BeforeForeign = func(context.Context) error { called++; return nil }
	if err := g.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	if called == 0 {
		t.Error("BeforeForeign was not called")
	}
	for _, ns := range []string{testNS, testDataNS} {
		name, owned := req.Name, true
		if ns != testNS {
			name, owned = req.ForeignName, false
		}
		role, err := client.RbacV1().Roles(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		binding, err := client.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (len(role.OwnerReferences) == 1) != owned || (len(binding.OwnerReferences) == 1) != owned {
			t.Errorf("%s: Role owners %v, RoleBinding owners %v; owned %t", ns, role.OwnerReferences, binding.OwnerReferences, owned)
		}
		if s := binding.Subjects; len(s) != 1 || s[0].Name != req.ServiceAccount || s[0].Namespace != testNS || binding.RoleRef.Name != name {
			t.Errorf("%s: binding %+v → %+v", ns, s, binding.RoleRef)
		}
		if want := RulesByNamespace(req.Grants)[ns]; !equality.Semantic.DeepEqual(role.Rules, want) {
			t.Errorf("%s: rules %+v, want %+v", ns, role.Rules, want)
		}
	}
	if sa, err := client.CoreV1().ServiceAccounts(testNS).Get(ctx, req.ServiceAccount, metav1.GetOptions{}); err != nil || len(sa.OwnerReferences) != 1 {
		t.Errorf("ServiceAccount %+v, %v", sa, err)
	}

	// Changed grants update the Role; Ensure is idempotent.
	req.Grants = RestoreGrants(Objects{RestoreSession: testObjects(testNS).RestoreSession})
	if err := g.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	if role, _ := client.RbacV1().Roles(testNS).Get(ctx, req.ServiceAccount, metav1.GetOptions{}); len(role.Rules) != 2 {
		t.Errorf("Role not updated: %+v", role.Rules)
	}

	if err := g.RevokeForeign(ctx, testNS, selector); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().Roles(testDataNS).Get(ctx, req.ForeignName, metav1.GetOptions{}); err == nil {
		t.Error("the Role in another namespace was not deleted")
	}
	if _, err := client.RbacV1().RoleBindings(testDataNS).Get(ctx, req.ForeignName, metav1.GetOptions{}); err == nil {
		t.Error("the RoleBinding in another namespace was not deleted")
	}
	if _, err := client.RbacV1().Roles(testNS).Get(ctx, req.ServiceAccount, metav1.GetOptions{}); err != nil {
		t.Errorf("the owned Role was deleted: %v", err)
	}
}

// TestEnsureUserServiceAccount: a user's service account gets the same
// grants, through a Role and RoleBinding named for the RestoreSession (so
// that RestoreSessions sharing the account do not share grants), and is
// itself neither created nor changed.
func TestEnsureUserServiceAccount(t *testing.T) {
	ctx := context.Background()
	client := k8sfake.NewClientset()
	g := Granter{Client: client, FieldManager: "test"}
	request := func(rs, sa string) Request {
		return Request{
			Namespace: testNS, ServiceAccount: sa, Name: "restore-executor-" + rs, ForeignName: "restore-executor-demo-" + rs,
			Owner:  metav1.OwnerReference{APIVersion: "core.kubestash.com/v1alpha1", Kind: "RestoreSession", Name: rs, UID: types.UID("uid-" + rs), Controller: ptr.To(true)},
			Grants: RestoreGrants(testObjects(testNS)),
		}
	}
	for _, tc := range []struct {
		name, rs, sa string
	}{
		{name: "a user's account", rs: "first", sa: "restorer"},
		{name: "the same account for another RestoreSession", rs: "second", sa: "restorer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(tc.rs, tc.sa)
			if err := g.Ensure(ctx, req); err != nil {
				t.Fatal(err)
			}
			role, err := client.RbacV1().Roles(testNS).Get(ctx, req.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := RulesByNamespace(req.Grants)[testNS]; !equality.Semantic.DeepEqual(role.Rules, want) {
				t.Errorf("rules %+v, want %+v", role.Rules, want)
			}
			binding, err := client.RbacV1().RoleBindings(testNS).Get(ctx, req.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: tc.sa, Namespace: testNS}}
			if !equality.Semantic.DeepEqual(binding.Subjects, want) || binding.RoleRef.Name != req.Name {
				t.Errorf("binding %+v → %+v, want %+v → %s", binding.Subjects, binding.RoleRef, want, req.Name)
			}
			if owner := metav1.GetControllerOf(binding); owner == nil || owner.UID != req.Owner.UID {
				t.Errorf("binding owner %+v, want the RestoreSession %s", owner, tc.rs)
			}
			if sas, _ := client.CoreV1().ServiceAccounts(testNS).List(ctx, metav1.ListOptions{}); len(sas.Items) != 0 {
				t.Errorf("service accounts created: %+v", sas.Items)
			}
		})
	}
	roles, _ := client.RbacV1().Roles(testNS).List(ctx, metav1.ListOptions{})
	if len(roles.Items) != 2 {
		t.Errorf("%d Roles, want one per RestoreSession", len(roles.Items))
	}
}

package controller

import (
	"context"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

const testRestoreNS = "restored"

// manifestFixture is the sample restore turned into a manifest restore of
// component pod-0 into testRestoreNS (which exists), without a target.
func manifestFixture(t *testing.T) *fixture {
	f := newFixture(t)
	addon := newAddon()
	addon.Spec.RestoreTasks = append(addon.Spec.RestoreTasks, addonsv1alpha1.Task{
		Name: invocation.TaskManifestRestore, Function: "manifest-restore", Executor: addonsv1alpha1.ExecutorJob,
	})
	f.replaceObject(addon)
	f.replaceObject(&addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "manifest-restore"},
		Spec: addonsv1alpha1.FunctionSpec{
			Image: "ghcr.io/restore-controller/executor:v1",
			Args:  []string{"restore-manifests", "--snapshot=${snapshotName}", "--component=${component}"},
		},
	})
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Target = nil
		rs.Spec.DataSource.Components = []string{"pod-0"}
		rs.Spec.Addon.Tasks = []corev1alpha1.TaskReference{{Name: invocation.TaskManifestRestore}}
		rs.Spec.ManifestOptions = &corev1alpha1.ManifestRestoreOptions{RestoreNamespace: testRestoreNS}
	})
	// The restore namespace's owner accepts manifest restores from the
	// RestoreSession's namespace.
	restoreNS := newNamespace(testRestoreNS, nil)
	restoreNS.Annotations = map[string]string{refs.AnnotationAcceptManifestRestoresFrom: testNS}
	f.kubeObjects = append(f.kubeObjects, restoreNS)
	return f
}

func TestManifestRestoreValidation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edit      func(f *fixture)
		fragments []string
	}{{
		name: "restoreNamespace missing",
		edit: func(f *fixture) {
			f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.ManifestOptions = nil })
		},
		fragments: []string{"spec.manifestOptions.restoreNamespace: Required value", `task "manifest-restore" (spec.addon.tasks[0])`},
	}, {
		name: "two restore namespaces",
		edit: func(f *fixture) {
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.ManifestOptions.MariaDB = &corev1alpha1.KubeDBManifestOptions{RestoreNamespace: "elsewhere"}
			})
		},
		fragments: []string{`spec.manifestOptions.mariaDB.restoreNamespace: Invalid value: "elsewhere": differs from spec.manifestOptions.restoreNamespace "restored"`},
	}, {
		name: "options of a kind not restored",
		edit: func(f *fixture) {
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.ManifestOptions.Redis = &corev1alpha1.KubeDBManifestOptions{}
			})
		},
		fragments: []string{"spec.manifestOptions.redis: Forbidden: accepted for KubeStash compatibility", "MongoDB, Postgres, MySQL and MariaDB"},
	}, {
		name:      "restoreNamespace does not exist",
		edit:      func(f *fixture) { f.removeObject(newNamespace(testRestoreNS, nil)) },
		fragments: []string{"spec.manifestOptions.restoreNamespace", `Namespace "restored" not found`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := manifestFixture(t)
			tc.edit(f)
			res := f.start().mustSync()
			rs := f.rs()
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, tc.fragments...)
			expectPhase(t, rs, corev1alpha1.RestoreInvalid)
			expectNoJobs(t, f)
			if !hasEvent(f.events(), "Warning "+EventReasonInvalid) {
				t.Errorf("no Invalid event: %v", f.events())
			}
			if tc.name == "restoreNamespace does not exist" && res.requeueAfter == 0 {
				t.Errorf("a missing namespace is not watched: want a requeue, got none")
			}
		})
	}
}

// A manifest restore needs no target volumes, even with a target that has
// none to offer, and its restore executor may create the restored kinds in the
// restore namespace through a Role that the end of the restore removes.
func TestManifestRestoreJobAndRBAC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target *common.TypedObjectReference
	}{
		{name: "no target"},
		{name: "a Deployment target without targetVolumes", target: &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindDeployment, Name: testSTS}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := manifestFixture(t)
			f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Target = tc.target })
			f.kubeObjects = append(f.kubeObjects, deploymentNamed(testSTS))
			f.start().mustSync()
			rs := f.rs()
			expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
			if jobs := f.jobs(); len(jobs) != 1 {
				t.Fatalf("%d Jobs, want one for component pod-0", len(jobs))
			}

			ctx := context.Background()
			name := names.ForeignRole(rs)
			role, err := f.kubeClient.RbacV1().Roles(testRestoreNS).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("no executor Role in the restore namespace: %v", err)
			}
			// Secrets of another namespace may be created, never read.
			verbs := []string{"get", "create"}
			want := []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
				{APIGroups: []string{"kubedb.com"}, Resources: []string{"mariadbs"}, Verbs: verbs},
				{APIGroups: []string{"kubedb.com"}, Resources: []string{"mongodbs"}, Verbs: verbs},
				{APIGroups: []string{"kubedb.com"}, Resources: []string{"mysqls"}, Verbs: verbs},
				{APIGroups: []string{"kubedb.com"}, Resources: []string{"postgreses"}, Verbs: verbs},
			}
			if !equality.Semantic.DeepEqual(role.Rules, want) {
				t.Errorf("restore namespace Role rules =\n%+v\nwant\n%+v", role.Rules, want)
			}
			if _, err := f.kubeClient.RbacV1().RoleBindings(testRestoreNS).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("no executor RoleBinding in the restore namespace: %v", err)
			}
			local, err := f.kubeClient.RbacV1().Roles(testNS).Get(ctx, names.ServiceAccount(rs), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range local.Rules {
				if len(r.ResourceNames) == 0 {
					t.Errorf("the RestoreSession's namespace got an unnamed grant: %+v", r)
				}
			}
			if !slices.Contains(rs.Finalizers, FinalizerRestore) {
				t.Errorf("no finalizer guarding the Role in the restore namespace")
			}

			f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded})
			f.mustSync()
			if _, err := f.kubeClient.RbacV1().Roles(testRestoreNS).Get(ctx, name, metav1.GetOptions{}); err == nil {
				t.Errorf("the Role in the restore namespace outlived the restore")
			}
			expectPhase(t, f.rs(), corev1alpha1.RestoreSucceeded)
		})
	}
}

// The kubedump-addon's manifest-restore restores cluster resources where
// they came from, as the user's service account: it needs no
// restoreNamespace, and the controller grants nothing in any other
// namespace.
func TestKubedumpManifestRestoreNeedsNoRestoreNamespace(t *testing.T) {
	f := manifestFixture(t)
	addon := newAddon()
	addon.Name = addonKubeDump
	addon.Spec.RestoreTasks = []addonsv1alpha1.Task{{Name: invocation.TaskManifestRestore, Function: "manifest-restore", Executor: addonsv1alpha1.ExecutorJob}}
	f.replaceObject(addon)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.Name = addonKubeDump
		rs.Spec.ManifestOptions = nil
		rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{ServiceAccountName: "cluster-resource-reader-writer"}}
	})
	f.start().mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
	jobs := f.jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs, want one for component pod-0", len(jobs))
	}
	if sa := jobs[0].Spec.Template.Spec.ServiceAccountName; sa != "cluster-resource-reader-writer" {
		t.Errorf("Job runs as %q, want the jobTemplate's service account", sa)
	}
	roles, err := f.kubeClient.RbacV1().Roles(testRestoreNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles.Items) != 0 {
		t.Errorf("Roles in another namespace: %v", roles.Items)
	}
}

package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

// testDataNS is the other namespace a RestoreSession restores from.
const testDataNS = "prod"

// moveDataSource moves the Repository, its Snapshot, BackupStorage (with
// the given usage policy) and encryption Secret into namespace ns, and
// points the RestoreSession there.
func moveDataSource(f *fixture, ns string, policy *common.UsagePolicy) {
	f.removeObject(newRepository())
	f.removeObject(newBackupStorage())
	f.removeObject(newSnapshot(testSnapshot, testStart, storagev1alpha1.SnapshotSucceeded))
	f.removeObject(newSecret(testNS, testSecret, ""))
	repo := newRepository()
	repo.Namespace = ns
	repo.Spec.StorageRef.Namespace = ns
	repo.Spec.EncryptionSecret = &common.ObjectReference{Name: testSecret, Namespace: ns}
	bs := newBackupStorage()
	bs.Namespace = ns
	bs.Spec.UsagePolicy = policy
	snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
	snap.Namespace = ns
	f.objects = append(f.objects, repo, bs, snap)
	f.kubeObjects = append(f.kubeObjects, newNamespace(ns, map[string]string{"env": ns}), newSecret(ns, testSecret, storagev1alpha1.EncryptionKeyKopia))
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.DataSource.Namespace = ns
		rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Name: testSecret, Namespace: ns}
	})
}

// expectNothingGranted fails unless the controller created nothing but
// status: no ServiceAccount, Role, RoleBinding, Job or PVC, in any
// namespace, and added no finalizer.
func expectNothingGranted(t *testing.T, f *fixture) {
	t.Helper()
	for _, w := range f.writes() {
		if !strings.HasPrefix(w, "update restoresessions/status") {
			t.Errorf("a refused RestoreSession made the controller write %s", w)
		}
	}
}

// Each way a tenant could make the controller reach into a namespace whose
// owner did not consent ends Invalid, naming the field and the rule, with
// nothing created anywhere.
func TestConsentRefusals(t *testing.T) {
	selectorPolicy := &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{
		From:     ptr.To(common.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "prod-readers"}},
	}}
	for _, tc := range []struct {
		name      string
		edit      func(f *fixture)
		fragments []string
	}{{
		name: "Repository of another namespace, BackupStorage without usagePolicy",
		edit: func(f *fixture) { moveDataSource(f, testDataNS, nil) },
		fragments: []string{"spec.dataSource.repository: Forbidden", "Repository prod/" + testRepo + " is in another namespace",
			"allowedNamespaces.from unset, i.e. Same", `does not allow the RestoreSession's namespace "demo"`},
	}, {
		name: "Repository of another namespace, BackupStorage policy Same",
		edit: func(f *fixture) {
			moveDataSource(f, testDataNS, &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromSame)}})
		},
		fragments: []string{"spec.dataSource.repository: Forbidden", "allowedNamespaces.from: Same"},
	}, {
		name:      "Repository of another namespace, selector not matching",
		edit:      func(f *fixture) { moveDataSource(f, testDataNS, selectorPolicy) },
		fragments: []string{"spec.dataSource.repository: Forbidden", "allowedNamespaces.from: Selector"},
	}, {
		name: "the same with a user-chosen ServiceAccount",
		edit: func(f *fixture) {
			moveDataSource(f, testDataNS, nil)
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{ServiceAccountName: "powerful"}}
			})
		},
		fragments: []string{"spec.dataSource.repository: Forbidden"},
	}, {
		name: "encryption Secret of kube-system named by the RestoreSession",
		edit: func(f *fixture) {
			f.kubeObjects = append(f.kubeObjects, newSecret("kube-system", "bootstrap", storagev1alpha1.EncryptionKeyKopia))
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Name: "bootstrap", Namespace: "kube-system"}
			})
		},
		fragments: []string{"spec.dataSource.encryptionSecret: Forbidden", "Secret kube-system/bootstrap is in another namespace",
			"is not the encryption Secret of Repository demo/" + testRepo},
	}, {
		name: "encryption Secret of kube-system named by the tenant's own Repository",
		edit: func(f *fixture) {
			f.kubeObjects = append(f.kubeObjects, newSecret("kube-system", "bootstrap", storagev1alpha1.EncryptionKeyKopia))
			repo := newRepository()
			repo.Spec.EncryptionSecret = &common.ObjectReference{Name: "bootstrap", Namespace: "kube-system"}
			f.replaceObject(repo)
			f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.EncryptionSecret = nil })
		},
		fragments: []string{"spec.dataSource.encryptionSecret: Forbidden", "Secret kube-system/bootstrap",
			"in the Repository's own namespace"},
	}, {
		name: "the data namespace's Secret, named while the Repository names another",
		edit: func(f *fixture) {
			moveDataSource(f, testDataNS, &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}})
			f.kubeObjects = append(f.kubeObjects, newSecret(testDataNS, "admin-token", storagev1alpha1.EncryptionKeyKopia))
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Name: "admin-token", Namespace: testDataNS}
			})
		},
		fragments: []string{"spec.dataSource.encryptionSecret: Forbidden", "Secret prod/admin-token"},
	}, {
		name: "HookTemplate of another namespace without usagePolicy",
		edit: func(f *fixture) {
			f.objects = append(f.objects, &corev1alpha1.HookTemplate{
				ObjectMeta: metav1.ObjectMeta{Name: "quiesce", Namespace: testDataNS},
				Spec: corev1alpha1.HookTemplateSpec{
					Executor: &corev1alpha1.HookExecutor{Type: corev1alpha1.HookExecutorFunction, Function: &corev1alpha1.FunctionHookExecutorSpec{Name: testFunction}},
				},
			})
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
					Name: "quiesce", HookTemplate: common.ObjectReference{Name: "quiesce", Namespace: testDataNS},
				}}}
			})
		},
		fragments: []string{"spec.hooks.preRestore[0].hookTemplate: Forbidden", "HookTemplate prod/quiesce", `does not allow namespace "demo"`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.edit(f)
			f.start().mustSync()
			rs := f.rs()
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, tc.fragments...)
			expectPhase(t, rs, corev1alpha1.RestoreInvalid)
			expectNothingGranted(t, f)
		})
	}
}

// With the owner's consent, by every form of usagePolicy, restoring another
// namespace's backup is allowed.
func TestConsentGiven(t *testing.T) {
	for name, policy := range map[string]*common.UsagePolicy{
		"All": {AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}},
		"Selector matching the restoring namespace": {AllowedNamespaces: common.AllowedNamespaces{
			From:     ptr.To(common.NamespacesFromSelector),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "prod-readers"}},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			moveDataSource(f, testDataNS, policy)
			f.replaceKubeObject(newNamespace(testNS, map[string]string{"team": "prod-readers"}))
			f.start().mustSync()
			rs := f.rs()
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
			expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
		})
	}
}

// A consent withdrawn after validation takes the storage out of the next
// sync's resolution, so no grant can be renewed from it.
func TestConsentWithdrawnAfterValidation(t *testing.T) {
	f := newFixture(t)
	moveDataSource(f, testDataNS, &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}})
	f.start().mustSync()
	ctx := context.Background()
	bs, err := f.client.StorageV1alpha1().BackupStorages(testDataNS).Get(ctx, testStorage, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs.Spec.UsagePolicy = nil
	if _, err := f.client.StorageV1alpha1().BackupStorages(testDataNS).Update(ctx, bs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	s := &restoreState{rs: f.rs()}
	if err := f.c.loadDependencies(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.storage != nil || s.encryptionSecret != nil || s.storageSecret != nil {
		t.Errorf("after the consent was withdrawn: storage %v, encryption Secret %v, storage Secret %v; want none", s.storage != nil, s.encryptionSecret, s.storageSecret)
	}
	for _, g := range restoreGrants(s) {
		if g.Namespace == testDataNS && g.Resource != "snapshots" && g.Resource != "repositories" {
			t.Errorf("grant in %s after the consent was withdrawn: %+v", testDataNS, g)
		}
	}
}

// The manifest restore namespace's owner opts in with an annotation,
// whether the namespace is named in KubeStash's earlier shape (one
// restoreNamespace) or its current one (a database's restoreNamespace).
func TestManifestRestoreNamespaceConsent(t *testing.T) {
	for _, tc := range []struct {
		annotation string
		perDB      bool
		allowed    bool
	}{
		{"", false, false},
		{"staging, other", false, false},
		{"staging," + testNS, false, true},
		{"*", false, true},
		{"", true, false},
		{"*", true, true},
	} {
		t.Run(fmt.Sprintf("annotation %s per-database %t", tc.annotation, tc.perDB), func(t *testing.T) {
			f := manifestFixture(t)
			wantField := "spec.manifestOptions.restoreNamespace"
			if tc.perDB {
				f.editRS(func(rs *corev1alpha1.RestoreSession) {
					rs.Spec.ManifestOptions = &corev1alpha1.ManifestRestoreOptions{Postgres: &corev1alpha1.KubeDBManifestOptions{RestoreNamespace: testRestoreNS}}
				})
				wantField = "spec.manifestOptions.postgres.restoreNamespace"
			}
			ns := newNamespace(testRestoreNS, nil)
			if tc.annotation != "" {
				ns.Annotations = map[string]string{refs.AnnotationAcceptManifestRestoresFrom: tc.annotation}
			}
			f.replaceKubeObject(ns)
			res := f.start().mustSync()
			rs := f.rs()
			if tc.allowed {
				expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
				return
			}
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed,
				wantField+": Forbidden", `Namespace "restored" does not accept manifest restores from namespace "demo"`,
				refs.AnnotationAcceptManifestRestoresFrom)
			expectNothingGranted(t, f)
			if res.requeueAfter == 0 {
				t.Errorf("a refusing namespace is not watched: want a requeue, got none")
			}
		})
	}
}

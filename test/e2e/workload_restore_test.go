package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// kubestashSourcePath is where KubeStash's workload guides keep the data
// they back up, and so the hostPath of their snapshots.
const kubestashSourcePath = "/source/data"

// TestFullRestoreWorkloadTargets restores KubeStash-shaped backups the way
// KubeStash's workload guides do: RestoreSessions without targetVolumes,
// whose Jobs run as the user's own service account, into a Deployment
// (component "dump") and one replica of a StatefulSet (component
// "dump-pod-1"), from snapshots of /source/data. The restore Jobs mount the
// workloads' own volumes where the workloads mount them, the user's
// account gets exactly the executor's grants, and the restored bytes are
// the backed-up ones; the Deployment's restore also takes absolute
// include and exclude paths, as KubeStash users write them.
func TestFullRestoreWorkloadTargets(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "fake-"+ns, "repo")
	addon := w.kopiaAddon(t)

	deploymentData := t.TempDir()
	writeData(t, deploymentData, 21)
	w.seedSnapshot(t, "deployment-snap", kubestashSourcePath, map[string]string{"dump": deploymentData})
	replicaData := map[string]string{"dump-pod-0": t.TempDir(), "dump-pod-1": t.TempDir()}
	for i, comp := range []string{"dump-pod-0", "dump-pod-1"} {
		writeData(t, replicaData[comp], 30+i)
	}
	w.seedSnapshot(t, "statefulset-snap", kubestashSourcePath, replicaData)

	framework.MustCreate(t, "ServiceAccount", func() error {
		_, err := c.Client().CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "restorer"}}, metav1.CreateOptions{})
		return err
	})
	persistentVolumeClaim(t, ns, "app-data")
	sourceDataDeployment(t, ns, "app", "app-data")
	sourceDataStatefulSet(t, ns, "db", 2)
	startController(t)

	asRestorer := func(rs *corev1alpha1.RestoreSession) *corev1alpha1.RestoreSession {
		rs.Spec.Addon.Name = addon
		rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{ServiceAccountName: "restorer"}}
		return rs
	}
	deployment := asRestorer(w.restoreSession("deployment", "deployment-snap",
		&common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "app", Namespace: ns},
		`{"include":"/source/data/app,/source/data/keep","exclude":"/source/data/app/db"}`))
	statefulSet := asRestorer(w.restoreSession("statefulset", "statefulset-snap",
		&common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db", Namespace: ns}, ""))
	statefulSet.Spec.DataSource.Components = []string{"dump-pod-1"}
	createRestore(t, deployment)
	createRestore(t, statefulSet)
	framework.WaitForPhase(t, restoreClient, ns, deployment.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)
	framework.WaitForPhase(t, restoreClient, ns, statefulSet.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)

	// The Deployment's PVC holds app/ without app/db, and keep/.
	want := framework.ScanTree(t, deploymentData)
	for p := range want {
		inApp := p == "app" || strings.HasPrefix(p, "app/")
		inDB := p == "app/db" || strings.HasPrefix(p, "app/db/")
		inKeep := p == "keep" || strings.HasPrefix(p, "keep/")
		if !(inApp || inKeep) || inDB {
			delete(want, p)
		}
	}
	framework.ExpectSameTree(t, "the Deployment's volume, restored from component dump with absolute include and exclude paths",
		want, framework.ClaimDir(t, c, ns, "app-data"))

	// Replica 1's claim holds its component; replica 0's is untouched.
	framework.ExpectSameTree(t, "replica 1's volume, restored from component dump-pod-1",
		framework.ScanTree(t, replicaData["dump-pod-1"]), framework.ClaimDir(t, c, ns, "source-data-db-1"))
	if entries, err := os.ReadDir(framework.ClaimDir(t, c, ns, "source-data-db-0")); err != nil || len(entries) != 0 {
		t.Errorf("replica 0's volume, whose component was not selected, holds %d entries (%v)", len(entries), err)
	}

	for _, rs := range []*corev1alpha1.RestoreSession{deployment, statefulSet} {
		jobs := restoreJobs(t, ns, rs.Name)
		if len(jobs) != 1 {
			t.Fatalf("%s: %d restore Jobs, want 1", rs.Name, len(jobs))
		}
		pod := jobs[0].Spec.Template.Spec
		ctr := pod.Containers[0]
		if pod.ServiceAccountName != "restorer" || mountPath(ctr, "source-data") != kubestashSourcePath || mountPath(ctr, "cache") != "" {
			t.Errorf("%s: Job runs as %q and mounts source-data at %q, cache at %q; want restorer, %s and no cache",
				rs.Name, pod.ServiceAccountName, mountPath(ctr, "source-data"), mountPath(ctr, "cache"), kubestashSourcePath)
		}
		expectUserAccountGrants(t, ns, rs.Name, "restorer")
	}
	if claim := volumeClaim(restoreJobs(t, ns, deployment.Name)[0].Spec.Template.Spec, "source-data"); claim != "app-data" {
		t.Errorf("the Deployment's restore mounts claim %q, want the Deployment's app-data", claim)
	}
	if claim := volumeClaim(restoreJobs(t, ns, statefulSet.Name)[0].Spec.Template.Spec, "source-data"); claim != "source-data-db-1" {
		t.Errorf("the StatefulSet's restore mounts claim %q, want replica 1's source-data-db-1", claim)
	}
}

// expectUserAccountGrants checks that the user's service account sa, not
// one of the controller's, holds the RestoreSession's executor grants: a
// Role of its namespace naming its Repository, bound to sa.
func expectUserAccountGrants(t *testing.T, ns, rsName, sa string) {
	t.Helper()
	ctx := context.Background()
	selector := metav1.ListOptions{LabelSelector: "kubestash.com/invoker-kind=RestoreSession,kubestash.com/invoker-name=" + rsName}
	accounts, err := c.Client().CoreV1().ServiceAccounts(ns).List(ctx, selector)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts.Items) != 0 {
		t.Errorf("%s: the controller created a service account although the RestoreSession names %s", rsName, sa)
	}
	bindings, err := c.Client().RbacV1().RoleBindings(ns).List(ctx, selector)
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	if len(bindings.Items) != 1 || !slices.Equal(bindings.Items[0].Subjects, want) {
		t.Fatalf("%s: RoleBindings %+v, want one binding %s", rsName, bindings.Items, sa)
	}
	role, err := c.Client().RbacV1().Roles(ns).Get(ctx, bindings.Items[0].RoleRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Equal(r.Resources, []string{"repositories"}) && slices.Equal(r.ResourceNames, []string{"repo"}) && slices.Equal(r.Verbs, []string{"get"})
	}) {
		t.Errorf("%s: Role %s rules %+v grant no get of Repository repo", rsName, role.Name, role.Rules)
	}
}

// sourceDataDeployment creates a Deployment like KubeStash's guide's: it
// mounts claim at /source/data (read-only here: the restore writes all the
// same) and an emptyDir at /cache, which holds nothing to restore.
func sourceDataDeployment(t *testing.T, ns, name, claim string) {
	t.Helper()
	labels := map[string]string{"app": name}
	framework.MustCreate(t, "Deployment", func() error {
		_, err := c.Client().AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						Containers: []corev1.Container{{
							Name: "app", Image: "example.com/app:v1",
							VolumeMounts: []corev1.VolumeMount{
								{Name: "source-data", MountPath: kubestashSourcePath, ReadOnly: true},
								{Name: "cache", MountPath: "/cache"},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "source-data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
							{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						},
					},
				},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

// sourceDataStatefulSet creates a StatefulSet like KubeStash's guide's: its
// replicas mount the claim template "source-data" at /source/data.
func sourceDataStatefulSet(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	statefulSetWithClaim(t, ns, name, replicas, "source-data", kubestashSourcePath)
	// Replica 0's claim must exist for the test to look into it.
	framework.Poll(t, time.Minute, fmt.Sprintf("claims of StatefulSet %s bound", name), func(ctx context.Context) (bool, string, error) {
		pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, "source-data-"+name+"-0", metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return pvc.Spec.VolumeName != "", string(pvc.Status.Phase), nil
	})
}

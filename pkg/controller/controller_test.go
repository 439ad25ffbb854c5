package controller

import (
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

// drainQueue returns the keys in the controller's queue, sorted.
func drainQueue(c *Controller) []string {
	var keys []string
	for c.queue.Len() > 0 {
		ref, _ := c.queue.Get()
		keys = append(keys, ref.String())
		c.queue.Done(ref)
		c.queue.Forget(ref)
	}
	slices.Sort(keys)
	return keys
}

// TestEventRouting checks that a change of each kind of object wakes exactly
// the RestoreSessions it matters to, through the dependency index and the
// Job owner references.
func TestEventRouting(t *testing.T) {
	f := newFixture(t)
	// A second RestoreSession naming a concrete Snapshot of another
	// repository and a PVC target, already validated.
	other := newRestoreSession()
	other.Name = "other"
	other.Spec.DataSource.Repository = "other-repo"
	other.Spec.DataSource.Snapshot = "other-snap"
	other.Spec.Addon.Name = "other-addon"
	other.Spec.Target = &common.TypedObjectReference{Kind: refs.KindPersistentVolumeClaim, Name: "data"}
	other.Status.Conditions = []metav1.Condition{{Type: corev1alpha1.TypeValidationPassed, Status: metav1.ConditionTrue}}
	f.objects = append(f.objects, other)
	f.start()
	drainQueue(f.c)

	sample := testNS + "/" + newRestoreSession().Name
	otherKey := testNS + "/other"
	snapshotOf := func(name, repo string) *storagev1alpha1.Snapshot {
		return &storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}, Spec: storagev1alpha1.SnapshotSpec{Repository: repo}}
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "restore-other-x", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: kindRestoreSession, Name: "other", UID: types.UID("u"), Controller: ptr.To(true),
	}}}}
	foreignJob := job.DeepCopy()
	foreignJob.OwnerReferences[0].Kind = "CronJob"

	tests := []struct {
		name    string
		handler cache.ResourceEventHandler
		obj     any
		want    []string
	}{
		{"new snapshot of the latest restore's repository", f.c.dependencyHandler(dependencyKeysOfSnapshot), snapshotOf("new", newRepository().Name), []string{sample}},
		{"the named snapshot appears", f.c.dependencyHandler(dependencyKeysOfSnapshot), snapshotOf("other-snap", "x"), []string{otherKey}},
		{"an unrelated snapshot", f.c.dependencyHandler(dependencyKeysOfSnapshot), snapshotOf("nope", "nope"), nil},
		{"the repository", f.c.dependencyHandler(dependencyKeysOfObject("Repository")),
			&storagev1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "other-repo"}}, []string{otherKey}},
		{"the addon", f.c.dependencyHandler(dependencyKeysOfObject("Addon")),
			&addonsv1alpha1.Addon{ObjectMeta: metav1.ObjectMeta{Name: newRestoreSession().Spec.Addon.Name}}, []string{sample}},
		{"a function wakes the unvalidated only", f.c.dependencyHandler(dependencyKeysOfObject("Function")),
			&addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "any"}}, []string{sample}},
		{"a backup of the StatefulSet target", f.c.dependencyHandler(dependencyKeysOfBackupConfiguration),
			newBackupConfiguration("b", stsTarget(newStatefulSet().Name), false, nil), []string{sample}},
		{"a backup of the PVC target", f.c.dependencyHandler(dependencyKeysOfBackupConfiguration),
			newBackupConfiguration("b", &common.TypedObjectReference{Kind: refs.KindPersistentVolumeClaim, Name: "data"}, false, nil), []string{otherKey}},
		{"a backup without target", f.c.dependencyHandler(dependencyKeysOfBackupConfiguration),
			&corev1alpha1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "b"}}, nil},
		{"an owned Job", f.c.ownerHandler(), job, []string{otherKey}},
		{"a deleted owned Job (tombstone)", f.c.ownerHandler(), cache.DeletedFinalStateUnknown{Key: "k", Obj: job}, []string{otherKey}},
		{"a Job owned by something else", f.c.ownerHandler(), foreignJob, nil},
		{"not a Job", f.c.ownerHandler(), &corev1.Pod{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.handler.OnAdd(tt.obj, false)
			if got := drainQueue(f.c); !slices.Equal(got, tt.want) {
				t.Errorf("woke %v, want %v", got, tt.want)
			}
			if _, ok := tt.obj.(cache.DeletedFinalStateUnknown); ok {
				return
			}
			tt.handler.OnDelete(cache.DeletedFinalStateUnknown{Key: "k", Obj: tt.obj})
			if got := drainQueue(f.c); !slices.Equal(got, tt.want) {
				t.Errorf("on delete woke %v, want %v", got, tt.want)
			}
		})
	}
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/test/framework"
)

// storageErrorDeadline is how long a restore from broken storage may take
// to fail: one executor pod that gives up at once. A failure taken for a
// retryable one would take several pods with growing back-off between
// them (about 10 s, 20 s, ... under the default backoffLimit) and fail
// the check of the Job's failed pods as well.
const storageErrorDeadline = 90 * time.Second

// TestRestoreFromBrokenStorageFailsAtOnce: for each object store, a
// BackupStorage whose Secret holds credentials the store refuses, one
// whose bucket (container) does not exist, and one whose Secret lacks the
// key the provider needs. Each RestoreSession ends Failed with the error,
// naming the storage and the bucket or the Secret and its key, in its
// component's status; the Job fails with its first pod (the executor
// exits with the permanent-failure code), although the controller runs
// with its default backoffLimit.
func TestRestoreFromBrokenStorageFailsAtOnce(t *testing.T) {
	startController(t, func(o *controller.Options) { o.ExecutorBackoffLimit = ptr.To[int32](2) })
	for _, o := range objectStores {
		t.Run(string(o.provider), func(t *testing.T) {
			t.Parallel()
			store := o.start(t)
			store.makeBucket(t, e2eBucket)
			for _, tc := range []struct {
				name string
				// broken is a BackupStorage with one thing wrong and the
				// fragments the error must hold, given the namespace.
				broken func() (*backupStorage, func(ns string) []string)
			}{{
				name: "wrong credentials",
				broken: func() (*backupStorage, func(string) []string) {
					s := store.storage(e2eBucket)
					want := store.wrongCredentials(s)
					return s, func(string) []string { return append(want, e2eBucket) }
				},
			}, {
				name: "missing bucket",
				broken: func() (*backupStorage, func(string) []string) {
					return store.storage("no-such-bucket"), func(string) []string {
						return append(store.missingBucket, "no-such-bucket")
					}
				},
			}, {
				name: "missing Secret key",
				broken: func() (*backupStorage, func(string) []string) {
					s := store.storage(e2eBucket)
					delete(s.credentials, store.secretKey)
					return s, func(ns string) []string {
						return []string{"secret has no such key", fmt.Sprintf("Secret %s/%s has no key %q", ns, storageSecretName, store.secretKey)}
					}
				},
			}} {
				t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
					t.Parallel()
					storage, want := tc.broken()
					expectRestoreFailsAtOnce(t, storage, want)
				})
			}
		})
	}
}

// expectRestoreFailsAtOnce restores a Snapshot from storage into a PVC
// and checks that the RestoreSession fails within storageErrorDeadline
// with an error holding every fragment want gives for its namespace, and
// that its Job failed with one pod.
func expectRestoreFailsAtOnce(t *testing.T, storage *backupStorage, want func(ns string) []string) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorldOn(t, ns, "fake-"+ns, "repo", storage)
	addon := w.kopiaAddon(t)
	w.dumpIntoAppData(t)
	rs := w.restoreSession("broken", "snap", appDataTarget(), "")
	rs.Spec.Addon.Name = addon
	createRestore(t, rs)

	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, storageErrorDeadline)
	st := got.Status.Components["dump"]
	if st.Phase != corev1alpha1.RestoreFailed {
		t.Errorf("component dump: %s, want Failed", framework.DescribeComponent(st))
	}
	for _, f := range want(ns) {
		if !strings.Contains(st.Error, f) {
			t.Errorf("component dump's error %q lacks %q", st.Error, f)
		}
	}
	// The RestoreSession may fail on the executor's report before the Job
	// controller has marked the Job failed.
	var job batchv1.Job
	framework.Poll(t, 30*time.Second, "the restore Job to fail", func(ctx context.Context) (bool, string, error) {
		jobs := restoreJobs(t, ns, rs.Name)
		if len(jobs) != 1 {
			return false, "", fmt.Errorf("%d restore Jobs, want 1", len(jobs))
		}
		job = jobs[0]
		return framework.JobCondition(&job, batchv1.JobFailed) != nil, fmt.Sprintf("%+v", job.Status), nil
	})
	if job.Status.Failed != 1 {
		t.Errorf("Job %s failed after %d pods, want 1 (a permanent failure is not retried): %+v", job.Name, job.Status.Failed, job.Status)
	}
}

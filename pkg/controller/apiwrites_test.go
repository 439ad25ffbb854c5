package controller

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// TestSyncAPICalls: every write a sync makes changes something, and a
// sync reads from the API only what no cache holds. Many restores started
// together (a disaster recovery) make the controller's API requests its
// bottleneck (bench/README.md, make bench-controller).
func TestSyncAPICalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before brings the sample RestoreSession to the state the
		// measured sync starts from.
		before func(f *fixture)
		// wantWrites are the measured sync's writes, sorted.
		wantWrites []string
		// wantReads are its reads from the API (not the caches).
		wantReads []string
	}{{
		name:   "first sync: the executor's grants, the claims and Jobs, one status write",
		before: func(*fixture) {},
		wantWrites: []string{
			"create jobs demo/",
			"create jobs demo/",
			"create persistentvolumeclaims demo/data-restore-sts-0",
			"create persistentvolumeclaims demo/data-restore-sts-2",
			"create rolebindings demo/restore-executor-sample-restore",
			"create roles demo/restore-executor-sample-restore",
			"create serviceaccounts demo/restore-executor-sample-restore",
			"update restoresessions/status demo/sample-restore",
		},
		// The encryption Secret (validation), the target and the
		// namespace's Pod Security level. The Role is created without a
		// read first, and the Jobs just created are not read back.
		wantReads: []string{"get namespaces", "get secrets", "get statefulsets"},
	}, {
		name:   "the Jobs appear in the cache: nothing changes, nothing is written",
		before: func(f *fixture) { f.mustSync() },
	}, {
		name: "a Job's pods start: the RestoreSession's status is the same, nothing is written",
		before: func(f *fixture) {
			f.mustSync()
			for _, job := range f.jobs() {
				job.Status.Active = 1
				job.Status.StartTime = &metav1.Time{Time: testStart}
				job.Status.Ready = ptr.To[int32](1)
				if err := f.kubeClient.Tracker().Update(gvrJobs, &job, testNS); err != nil {
					t.Fatal(err)
				}
			}
			f.refresh()
		},
	}, {
		name: "the executors report Running: one status write, the phase",
		before: func(f *fixture) {
			f.mustSync()
			f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning})
		},
		wantWrites: []string{"update restoresessions/status demo/sample-restore"},
	}, {
		name: "a resync after the Running phase was written: nothing is written",
		before: func(f *fixture) {
			f.mustSync()
			f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning})
			f.mustSync()
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t).start()
			tc.before(f)
			if _, err := f.sync(); err != nil {
				t.Fatal(err)
			}
			writes := f.writes()
			// Job names are hashed; compare up to the namespace.
			for i, w := range writes {
				if strings.HasPrefix(w, "create jobs demo/") {
					writes[i] = "create jobs demo/"
				}
			}
			slices.Sort(writes)
			if !slices.Equal(writes, tc.wantWrites) {
				t.Errorf("writes:\n  got  %q\n  want %q", writes, tc.wantWrites)
			}
			var reads []string
			for _, a := range append(f.client.Actions(), f.kubeClient.Actions()...) {
				if a.GetVerb() == "get" || a.GetVerb() == "list" {
					reads = append(reads, a.GetVerb()+" "+a.GetResource().Resource)
				}
			}
			slices.Sort(reads)
			if !slices.Equal(reads, tc.wantReads) {
				t.Errorf("API reads:\n  got  %q\n  want %q", reads, tc.wantReads)
			}
		})
	}
}

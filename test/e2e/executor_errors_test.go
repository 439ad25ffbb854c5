package e2e

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/test/framework"
)

// TestExecutorFailureBeforeStatusReachesComponent: an executor that exits
// before it can write the RestoreSession's status (here on a bad flag: the
// test's Addon runs a Function the controller does not check the params
// of, so parallel: "many" reaches the executor) still gets its reason into
// the component's error, through its container's termination message.
// The Job fails with its first pod (a bad flag is a permanent failure).
func TestExecutorFailureBeforeStatusReachesComponent(t *testing.T) {
	startController(t, func(o *controller.Options) { o.ExecutorBackoffLimit = ptr.To[int32](2) })
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "fake-"+ns, "repo")
	addon := w.kopiaAddon(t)
	w.dumpIntoAppData(t)
	rs := w.restoreSession("bad-flag", "snap", appDataTarget(), `{"parallel": "many"}`)
	rs.Spec.Addon.Name = addon
	createRestore(t, rs)

	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, 90*time.Second)
	st := got.Status.Components["dump"]
	for _, want := range []string{"exited with code 3", `invalid value "many" for flag -parallel`, `"many" is not an integer`} {
		if !strings.Contains(st.Error, want) {
			t.Errorf("component dump's error %q lacks %q", st.Error, want)
		}
	}
	framework.ExpectConditionMessage(t, got, corev1alpha1.TypeRestoreIncomplete, `invalid value "many" for flag -parallel`)
	jobs := restoreJobs(t, ns, rs.Name)
	if len(jobs) != 1 {
		t.Fatalf("%d restore Jobs, want 1", len(jobs))
	}
	job := jobs[0]
	if framework.JobCondition(&job, batchv1.JobFailed) == nil || job.Status.Failed != 1 {
		t.Errorf("Job %s: %+v, want Failed after 1 pod (a bad flag is not retried)", job.Name, job.Status)
	}
}

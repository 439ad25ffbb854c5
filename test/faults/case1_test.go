package faults

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/status"
	"github.com/restore-controller/restore/test/framework"
)

const (
	concurrentRestores = 20
	minControllerKills = 8
	maxControllerKills = 10
	// restoreRate is the S3 bandwidth the 20 restores share: 1 GiB takes
	// at least 40 s.
	restoreRate = 25 << 20
)

// testControllerKilled (case 1): 20 restores of one ~50 MiB Snapshot into
// 20 PVCs while the controller is SIGKILLed at random moments, at least 8
// times. Every Job creation is counted by a watch opened before the
// first RestoreSession: each restore must have created exactly one Job
// (its one component) ever, end Succeeded with a consistent status, and
// restore a tree identical to the source.
func testControllerKilled(t *testing.T) {
	f := startCase(t, 1, "controller killed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The restores read from S3 through a proxy at restoreRate: on an idle
	// machine they would otherwise end before the controller has been
	// killed often enough.
	w := newSlowWorldOf(t, 100, func(i int) int { return 256<<10 + (i%8)*64<<10 }, restoreRate)
	total := w.total
	f.add("data", fmt.Sprintf("%.1fMiB/%dfiles", float64(total)/(1<<20), w.files))

	created := watchJobCreations(ctx, t, w.ns)
	names := make([]string, concurrentRestores)
	for i := range names {
		names[i] = fmt.Sprintf("restore-%02d", i)
		w.claim(t, names[i])
		w.restore(t, names[i], "snap", names[i], "")
	}

	// Each kill lands at a random moment 0.2-2 s after the incarnation
	// started processing RestoreSessions, until maxControllerKills or
	// every restore ended.
	finished := func(ctx context.Context) (int, error) {
		list, err := restoreClient.CoreV1alpha1().RestoreSessions(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		n := 0
		for _, rs := range list.Items {
			if status.FinalStepExecuted(&rs.Status) {
				n++
			}
		}
		return n, nil
	}
	kills := 0
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for kills < maxControllerKills {
		ctrl.waitWorking(t)
		time.Sleep(200*time.Millisecond + time.Duration(rng.Int63n(int64(1800*time.Millisecond))))
		done, err := finished(ctx)
		if err != nil {
			t.Fatalf("listing RestoreSessions: %v", err)
		}
		if done == concurrentRestores {
			break
		}
		if _, err := ctrl.kill(); err != nil {
			t.Fatalf("killing the controller: %v", err)
		}
		kills++
	}
	f.add("kills", kills)
	if kills < minControllerKills {
		t.Errorf("the restores ended after %d controller kills, want at least %d while they run", kills, minControllerKills)
	}

	succeeded := 0
	for _, name := range names {
		rs := framework.WaitForPhase(t, restoreClient, w.ns, name, corev1alpha1.RestoreSucceeded, 2*time.Minute)
		if expectConsistentSuccess(t, rs, total) {
			succeeded++
		}
		framework.ExpectSameTree(t, name, w.want, framework.ClaimDir(t, c, w.ns, name))
	}
	f.add("succeeded", fmt.Sprintf("%d/%d", succeeded, concurrentRestores))

	jobsPerRestore := created()
	jobs := 0
	for _, name := range names {
		jobs += jobsPerRestore[name]
		if n := jobsPerRestore[name]; n != 1 {
			t.Errorf("RestoreSession %s: %d Jobs created, want exactly 1 (one component)", name, n)
		}
	}
	f.add("jobsCreated", fmt.Sprintf("%d/%d", jobs, concurrentRestores))
}

// expectConsistentSuccess checks that a Succeeded RestoreSession's status
// agrees with itself: its one component Succeeded without error, having
// restored everything, and no condition contradicts success.
func expectConsistentSuccess(t *testing.T, rs *corev1alpha1.RestoreSession, totalBytes int64) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Errorf("RestoreSession %s: "+format+"; status: %s", append(append([]any{rs.Name}, args...), framework.DescribeStatus(rs))...)
		ok = false
	}
	st := rs.Status
	comp, found := st.Components[component]
	switch {
	case st.TotalComponents != 1 || len(st.Components) != 1 || !found:
		fail("totalComponents %d, components %d, want 1 (%s)", st.TotalComponents, len(st.Components), component)
	case comp.Phase != corev1alpha1.RestoreSucceeded || comp.Error != "":
		fail("component %s", framework.DescribeComponent(comp))
	case comp.Progress == nil || comp.Progress.Percentage != 100 || comp.Progress.TotalBytes != totalBytes:
		fail("component progress %+v, want 100%% of %d bytes", comp.Progress, totalBytes)
	case st.Duration == "":
		fail("no duration")
	}
	for _, cond := range st.Conditions {
		bad := cond.Status == metav1.ConditionFalse && cond.Type != corev1alpha1.TypeRestoreIncomplete
		if cond.Type == corev1alpha1.TypeDeadlineExceeded || cond.Type == corev1alpha1.TypeRestoreIncomplete && cond.Status == metav1.ConditionTrue {
			bad = true
		}
		if bad {
			fail("condition %s=%s (%s) contradicts Succeeded", cond.Type, cond.Status, cond.Message)
		}
	}
	return ok
}

// watchJobCreations watches the Jobs of ns from now on, surviving watch
// ends, and returns a function that reports how many distinct Jobs each
// RestoreSession (by the controller's invoker label) has had created.
func watchJobCreations(ctx context.Context, t *testing.T, ns string) func() map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]map[string]bool{} // RestoreSession -> Job UIDs
	record := func(job *batchv1.Job) {
		mu.Lock()
		defer mu.Unlock()
		rs := job.Labels[controller.LabelInvokerName]
		if seen[rs] == nil {
			seen[rs] = map[string]bool{}
		}
		seen[rs][string(job.UID)] = true
	}
	jobs := c.Client().BatchV1().Jobs(ns)
	list, err := jobs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("namespace %s already has %d Jobs", ns, len(list.Items))
	}
	rv := list.ResourceVersion
	go func() {
		for ctx.Err() == nil {
			wt, err := jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range wt.ResultChan() {
				job, ok := ev.Object.(*batchv1.Job)
				if !ok {
					continue // an error event: watch again from rv
				}
				rv = job.ResourceVersion
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					record(job)
				}
			}
		}
	}()
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for rs, uids := range seen {
			out[rs] = len(uids)
		}
		return out
	}
}

package controller

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/pkg/status"
)

// testWait bounds every wait of these tests for something asynchronous.
const testWait = 10 * time.Second

var testRSKey = cache.ObjectName{Namespace: testNS, Name: testRSName}

// blockingPodRunner is a PodHookRunner whose attempts block until the test
// releases them or their context ends. The first `failures` released
// attempts fail.
type blockingPodRunner struct {
	failures int
	started  chan struct{}
	release  chan struct{}
	// ended receives each attempt's context error when the context ended
	// it (cancelled, or past its timeout).
	ended chan error

	mu    sync.Mutex
	calls int
}

func newBlockingPodRunner(failures int) *blockingPodRunner {
	return &blockingPodRunner{failures: failures, started: make(chan struct{}, 10), release: make(chan struct{}), ended: make(chan error, 10)}
}

func (r *blockingPodRunner) Run(ctx context.Context, _ *corev1alpha1.HookAction, pods []corev1.Pod, _ corev1alpha1.PodHookExecutionStrategy, _ hookaction.AddressPolicy) ([]hookaction.PodResult, error) {
	r.mu.Lock()
	r.calls++
	fail := r.calls <= r.failures
	r.mu.Unlock()
	r.started <- struct{}{}
	select {
	case <-r.release:
	case <-ctx.Done():
		r.ended <- ctx.Err()
		return nil, ctx.Err()
	}
	if fail {
		err := errors.New("command exited with code 1")
		return []hookaction.PodResult{{Pod: pods[0].Name, Err: err}}, &hookaction.PodsError{Failed: []hookaction.PodResult{{Pod: pods[0].Name, Err: err}}, Total: 1}
	}
	return []hookaction.PodResult{{Pod: pods[0].Name}}, nil
}

func (r *blockingPodRunner) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// waitStarted waits until the runner has started another attempt.
func (r *blockingPodRunner) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-r.started:
	case <-time.After(testWait):
		t.Fatal("the hook attempt did not reach the pod runner")
	}
}

// releaseOne lets one blocked attempt end.
func (r *blockingPodRunner) releaseOne(t *testing.T) {
	t.Helper()
	select {
	case r.release <- struct{}{}:
	case <-time.After(testWait):
		t.Fatal("no hook attempt waiting to be released")
	}
}

// waitEnded waits until an attempt was ended by its context.
func (r *blockingPodRunner) waitEnded(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.ended:
		return err
	case <-time.After(testWait):
		t.Fatal("the hook attempt's context was not cancelled")
		return nil
	}
}

// podHookFixture is a fixture whose RestoreSession has one Pod-executor
// pre-restore hook, "quiesce", run by runner in the target's pods.
func podHookFixture(t *testing.T, runner PodHookRunner, mutate func(h *corev1alpha1.HookInfo)) *fixture {
	t.Helper()
	f := newFixture(t)
	f.opts.PodHookRunner = runner
	labels := map[string]string{"app": "db"}
	sts := newStatefulSet()
	sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	f.replaceKubeObject(sts)
	f.kubeObjects = append(f.kubeObjects, readyPod("restore-sts-0", labels))
	f.objects = append(f.objects, podHookTemplate("quiesce"))
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		h := corev1alpha1.HookInfo{Name: "quiesce", HookTemplate: common.ObjectReference{Name: "quiesce"}}
		if mutate != nil {
			mutate(&h)
		}
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{h}}
	})
	return f
}

// syncPromptly syncs the sample RestoreSession like mustSync, failing the
// test unless the sync returns within testWait: a sync must never wait for
// a hook.
func (f *fixture) syncPromptly() (syncResult, error) {
	f.t.Helper()
	return f.syncNamePromptly(testRSName)
}

func (f *fixture) syncNamePromptly(name string) (syncResult, error) {
	f.t.Helper()
	type outcome struct {
		res syncResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := f.syncName(name)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		f.refresh()
		return o.res, o.err
	case <-time.After(testWait):
		f.t.Fatal("the sync waited for a hook attempt")
		return syncResult{}, nil
	}
}

// drainQueue empties the workqueue, so waitEnqueued sees only new keys.
func (f *fixture) drainQueue() {
	for f.c.queue.Len() > 0 {
		key, _ := f.c.queue.Get()
		f.c.queue.Done(key)
	}
}

// waitEnqueued waits until a hook attempt enqueued the RestoreSession.
func (f *fixture) waitEnqueued() {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, testWait, true, func(context.Context) (bool, error) {
		return f.c.queue.Len() > 0, nil
	})
	if err != nil {
		f.t.Fatal("no RestoreSession enqueued after the hook attempt ended")
	}
	key, _ := f.c.queue.Get()
	f.c.queue.Done(key)
	if key != testRSKey {
		f.t.Fatalf("enqueued %v, want %v", key, testRSKey)
	}
}

// attemptsHeld counts the attempts the controller's table holds, and how
// many of them still run.
func (f *fixture) attemptsHeld() (held, running int) {
	t := f.c.hookAttempts
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.attempts {
		held++
		if !a.done {
			running++
		}
	}
	return held, running
}

// syncHooks syncs until done holds (at most n times). After each sync it
// waits until no hook attempt runs, and when the sync asked to be synced
// again later (a retry backoff) it steps the clock over that wait.
func (f *fixture) syncHooks(n int, done func() bool) {
	f.t.Helper()
	for i := 0; i < n && !done(); i++ {
		res := f.mustSync()
		err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, testWait, true, func(context.Context) (bool, error) {
			_, running := f.attemptsHeld()
			return running == 0, nil
		})
		if err != nil {
			f.t.Fatal("a hook attempt did not end")
		}
		if res.requeueAfter > 0 {
			f.clock.Step(res.requeueAfter)
		}
	}
}

func preHook(f *fixture) corev1alpha1.HookExecutionStatus {
	f.t.Helper()
	rs := f.rs()
	if rs.Status.Hooks == nil || len(rs.Status.Hooks.PreHooks) == 0 {
		f.t.Fatalf("no pre-restore hook status in %+v", rs.Status)
	}
	return rs.Status.Hooks.PreHooks[0]
}

// TestHookAttemptRunsOutsideSync: the sync that starts an attempt of a Pod
// hook records it Running and returns while the attempt blocks; a sync
// while it runs changes nothing; when it ends it enqueues the
// RestoreSession and the next sync applies its outcome. A failure to list
// the hook's pods is an API error of the sync, not a failed attempt.
func TestHookAttemptRunsOutsideSync(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxRetry int32
		timeout  string
		failures int  // attempts the runner fails
		listErr  bool // listing the hook's pods fails once
		hold     bool // the attempt is never released: it times out

		wantPhase    corev1alpha1.HookExecutionPhase
		wantAttempts int32
		wantMessage  string
		wantRequeue  time.Duration
		wantStage    metav1.ConditionStatus // "": the stage has not ended
	}{
		{name: "succeeds", wantPhase: corev1alpha1.HookExecutionSucceeded, wantAttempts: 1, wantStage: metav1.ConditionTrue},
		{name: "fails with a retry left", maxRetry: 1, failures: 1,
			wantPhase: corev1alpha1.HookExecutionRunning, wantAttempts: 2, wantMessage: "command exited with code 1", wantRequeue: time.Second},
		{name: "fails without retries", failures: 1,
			wantPhase: corev1alpha1.HookExecutionFailed, wantAttempts: 1, wantMessage: "command exited with code 1", wantStage: metav1.ConditionFalse},
		{name: "outlives its timeout", timeout: "100ms", hold: true,
			wantPhase: corev1alpha1.HookExecutionFailed, wantAttempts: 1, wantMessage: "no result within the timeout of 100ms", wantStage: metav1.ConditionFalse},
		{name: "pods cannot be listed", listErr: true, wantPhase: corev1alpha1.HookExecutionSucceeded, wantAttempts: 1, wantStage: metav1.ConditionTrue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := newBlockingPodRunner(tc.failures)
			f := podHookFixture(t, runner, func(h *corev1alpha1.HookInfo) {
				h.MaxRetry = tc.maxRetry
				if tc.timeout != "" {
					h.Timeout = ptr.To(intstr.FromString(tc.timeout))
				}
			})
			f.start()
			var listFails atomic.Bool
			listFails.Store(tc.listErr)
			f.kubeClient.PrependReactor("list", "pods", func(core.Action) (bool, runtime.Object, error) {
				if listFails.CompareAndSwap(true, false) {
					return true, nil, apierrors.NewServiceUnavailable("etcd is down")
				}
				return false, nil, nil
			})

			if _, err := f.syncPromptly(); err != nil {
				t.Fatalf("sync starting the attempt: %v", err)
			}
			if h := preHook(f); h.Phase != corev1alpha1.HookExecutionRunning || h.Attempts != 1 {
				t.Fatalf("after the sync that started it, hook = %+v; want Running, attempt 1", h)
			}
			if tc.listErr {
				f.waitEnqueued()
				_, err := f.syncPromptly()
				if !apierrors.IsServiceUnavailable(err) {
					t.Fatalf("sync after the pod list failed: error %v, want the API error", err)
				}
				if h := preHook(f); h.Phase != corev1alpha1.HookExecutionRunning || h.Attempts != 1 {
					t.Errorf("after the API error, hook = %+v; want Running, attempt 1 (not counted)", h)
				}
				if held, _ := f.attemptsHeld(); held != 0 {
					t.Errorf("the table holds %d attempts after the API error, want none", held)
				}
				if _, err := f.syncPromptly(); err != nil { // makes the attempt again
					t.Fatalf("sync retrying the attempt: %v", err)
				}
			}
			runner.waitStarted(t)

			if _, err := f.syncPromptly(); err != nil {
				t.Fatalf("sync while the attempt runs: %v", err)
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("a sync while the attempt runs wrote %v, want nothing", w)
			}
			if tc.hold {
				if err := runner.waitEnded(t); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("attempt ended with %v, want its deadline", err)
				}
			} else {
				runner.releaseOne(t)
			}
			f.waitEnqueued()

			res, err := f.syncPromptly()
			if err != nil {
				t.Fatalf("sync applying the outcome: %v", err)
			}
			h := preHook(f)
			if h.Phase != tc.wantPhase || h.Attempts != tc.wantAttempts || !strings.Contains(h.Message, tc.wantMessage) {
				t.Errorf("hook = %+v; want %s after %d attempt(s), message containing %q", h, tc.wantPhase, tc.wantAttempts, tc.wantMessage)
			}
			if res.requeueAfter != tc.wantRequeue {
				t.Errorf("requeueAfter = %v, want %v", res.requeueAfter, tc.wantRequeue)
			}
			if tc.wantStage != "" {
				expectCondition(t, f.rs(), corev1alpha1.TypePreRestoreHooksExecutionSucceeded, tc.wantStage, "")
			}
			if got := runner.callCount(); got != 1 {
				t.Errorf("pod runner called %d times, want 1", got)
			}
			// The next sync sees the recorded outcome and drops it.
			f.mustSync()
			if held, _ := f.attemptsHeld(); held != 0 {
				t.Errorf("the table holds %d attempts after their outcome was recorded, want none", held)
			}
		})
	}
}

// TestHookOutcomeKeptUntilRecorded: when the status write that records an
// outcome fails, the next sync applies the same outcome again instead of
// making the attempt a second time.
func TestHookOutcomeKeptUntilRecorded(t *testing.T) {
	runner := newBlockingPodRunner(0)
	f := podHookFixture(t, runner, nil)
	f.start()
	f.mustSync()
	runner.waitStarted(t)
	runner.releaseOne(t)
	f.waitEnqueued()

	var conflicts atomic.Int32
	f.client.PrependReactor("update", "restoresessions", func(a core.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && conflicts.Add(1) == 1 {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: corev1alpha1.GroupName, Resource: "restoresessions"}, testRSName, errors.New("changed"))
		}
		return false, nil, nil
	})
	if _, err := f.sync(); !apierrors.IsConflict(err) {
		t.Fatalf("sync with a failing status write: error %v, want the conflict", err)
	}
	f.mustSync()
	if h := preHook(f); h.Phase != corev1alpha1.HookExecutionSucceeded || h.Attempts != 1 {
		t.Errorf("hook = %+v, want Succeeded after 1 attempt", h)
	}
	if got := runner.callCount(); got != 1 {
		t.Errorf("pod runner called %d times, want 1", got)
	}
}

// TestHookAttemptDroppedWithRestoreSession: a running attempt of a
// RestoreSession that is deleted, replaced (another UID) or ended is
// cancelled, its outcome dropped without enqueueing, and the table is
// left empty.
func TestHookAttemptDroppedWithRestoreSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *fixture)
	}{
		{"deleted", func(f *fixture) {
			if err := f.client.Tracker().Delete(gvrRestoreSessions, testNS, testRSName); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"replaced", func(f *fixture) {
			if err := f.client.Tracker().Delete(gvrRestoreSessions, testNS, testRSName); err != nil {
				f.t.Fatal(err)
			}
			rs := newRestoreSession()
			rs.UID = "rs-uid-2"
			if err := f.client.Tracker().Add(rs); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"being deleted", func(f *fixture) {
			f.updateRS(func(rs *corev1alpha1.RestoreSession) { rs.DeletionTimestamp = ptr.To(metav1.NewTime(testStart)) })
		}},
		{"ended", func(f *fixture) {
			f.updateRS(func(rs *corev1alpha1.RestoreSession) {
				status.SetCondition(&rs.Status, corev1alpha1.TypeMetricsPushed, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyPushedMetrics, corev1alpha1.MessageMetricsPushed, 1, metav1.NewTime(testStart))
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := newBlockingPodRunner(0)
			f := podHookFixture(t, runner, nil)
			f.start()
			f.mustSync()
			runner.waitStarted(t)
			f.drainQueue()

			tc.change(f)
			f.refresh()
			if _, err := f.syncPromptly(); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if err := runner.waitEnded(t); !errors.Is(err, context.Canceled) {
				t.Errorf("attempt ended with %v, want it cancelled", err)
			}
			f.c.hookAttempts.running.Wait()
			if held, _ := f.attemptsHeld(); held != 0 {
				t.Errorf("the table holds %d attempts, want none", held)
			}
			if n := f.c.queue.Len(); n != 0 {
				t.Errorf("%d keys enqueued by a dropped attempt, want none", n)
			}
		})
	}
}

// TestHookAttemptRestart: stopping the controller cancels a running
// attempt without counting it; the next controller finds the hook Running
// with an attempt it does not hold and makes that attempt again.
func TestHookAttemptRestart(t *testing.T) {
	runner := newBlockingPodRunner(0)
	f := podHookFixture(t, runner, nil)
	f.start()
	f.mustSync()
	runner.waitStarted(t)
	f.drainQueue()

	f.c.hookAttempts.stop() // what Run does when its context ends
	if err := runner.waitEnded(t); !errors.Is(err, context.Canceled) {
		t.Errorf("attempt ended with %v, want it cancelled", err)
	}
	if n := f.c.queue.Len(); n != 0 {
		t.Errorf("%d keys enqueued by a cancelled attempt, want none", n)
	}
	if h := preHook(f); h.Phase != corev1alpha1.HookExecutionRunning || h.Attempts != 1 {
		t.Fatalf("hook = %+v after shutdown; want Running, attempt 1 (a cancelled attempt does not count)", h)
	}

	f.restart()
	f.mustSync()
	runner.waitStarted(t)
	runner.releaseOne(t)
	f.waitEnqueued()
	f.mustSync()
	if h := preHook(f); h.Phase != corev1alpha1.HookExecutionSucceeded || h.Attempts != 1 {
		t.Errorf("hook = %+v; want Succeeded, attempt 1", h)
	}
	if got := runner.callCount(); got != 2 {
		t.Errorf("pod runner called %d times, want 2 (the cancelled attempt made again)", got)
	}
}

// TestSlowHooksDoNotBlockOtherRestores: while the hooks of two
// RestoreSessions block, a third RestoreSession without hooks gets its
// restore Jobs from the same controller.
func TestSlowHooksDoNotBlockOtherRestores(t *testing.T) {
	runner := newBlockingPodRunner(0)
	f := podHookFixture(t, runner, nil)
	for _, name := range []string{"hooked-2", "plain"} {
		rs := newRestoreSession()
		rs.Name, rs.UID = name, types.UID("uid-"+name)
		if name == "hooked-2" {
			f.editRS(func(orig *corev1alpha1.RestoreSession) { rs.Spec.Hooks = orig.Spec.Hooks.DeepCopy() })
		}
		f.objects = append(f.objects, rs)
	}
	f.start()
	for _, name := range []string{testRSName, "hooked-2"} {
		if _, err := f.syncNamePromptly(name); err != nil {
			t.Fatal(err)
		}
		runner.waitStarted(t)
	}
	if _, err := f.syncNamePromptly("plain"); err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, j := range f.jobs() {
		if j.Labels[LabelInvokerName] == "plain" {
			jobs++
		}
	}
	if jobs == 0 {
		t.Errorf("no restore Job for the RestoreSession without hooks while two hooks run")
	}
	if _, running := f.attemptsHeld(); running != 2 {
		t.Errorf("%d hook attempts running, want 2", running)
	}
}

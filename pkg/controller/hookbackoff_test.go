package controller

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestHookRetryBackoff(t *testing.T) {
	defaults := Options{}
	defaults.setDefaults()
	short := Options{HookRetryBackoff: 100 * time.Millisecond, HookRetryBackoffMax: 250 * time.Millisecond}
	for _, tc := range []struct {
		opts   Options
		failed int32
		want   time.Duration
	}{
		{defaults, 1, time.Second},
		{defaults, 2, 2 * time.Second},
		{defaults, 3, 4 * time.Second},
		{defaults, 6, 32 * time.Second},
		{defaults, 7, time.Minute},
		{defaults, 100, time.Minute},
		{short, 1, 100 * time.Millisecond},
		{short, 2, 200 * time.Millisecond},
		{short, 3, 250 * time.Millisecond},
	} {
		if got := tc.opts.hookRetryBackoff(tc.failed); got != tc.want {
			t.Errorf("backoff after failed attempt %d with base %v, max %v = %v, want %v",
				tc.failed, tc.opts.HookRetryBackoff, tc.opts.HookRetryBackoffMax, got, tc.want)
		}
	}
}

// TestFunctionHookRetryBackoff: the Job of a Function hook's next attempt
// is created only once the backoff after the failed one has passed; until
// then each sync asks to be requeued for the time left.
func TestFunctionHookRetryBackoff(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects,
		&addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hook-fn"}, Spec: addonsv1alpha1.FunctionSpec{Image: "hook:v1"}},
		&corev1alpha1.HookTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: testNS},
			Spec: corev1alpha1.HookTemplateSpec{Executor: &corev1alpha1.HookExecutor{
				Type: corev1alpha1.HookExecutorFunction, Function: &corev1alpha1.FunctionHookExecutorSpec{Name: "hook-fn"},
			}},
		})
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
			Name: "prepare", HookTemplate: common.ObjectReference{Name: "fn"}, MaxRetry: 2,
		}}}
	})
	f.start()
	f.mustSync()

	attemptJob := func(n int32) string { return hookJobName(f.rs(), preRestore, "prepare", n) }
	hasJob := func(name string) bool {
		for _, j := range f.jobs() {
			if j.Name == name {
				return true
			}
		}
		return false
	}
	for _, step := range []struct {
		failJob     int32         // the Job of this attempt fails before the sync
		advance     time.Duration // the clock moves before the sync
		wantJob     int32         // the Job of this attempt exists after it
		wantRequeue time.Duration
	}{
		{failJob: 1, wantJob: 1, wantRequeue: time.Second},
		{wantJob: 1, wantRequeue: time.Second},
		{advance: 500 * time.Millisecond, wantJob: 1, wantRequeue: 500 * time.Millisecond},
		{advance: 500 * time.Millisecond, wantJob: 2},
		{failJob: 2, wantJob: 2, wantRequeue: 2 * time.Second},
		{advance: time.Second, wantJob: 2, wantRequeue: time.Second},
		{advance: time.Second, wantJob: 3},
	} {
		if step.failJob > 0 {
			f.setJobCondition(attemptJob(step.failJob), batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
		}
		f.clock.Step(step.advance)
		res := f.mustSync()
		if !hasJob(attemptJob(step.wantJob)) || hasJob(attemptJob(step.wantJob+1)) {
			t.Fatalf("at %v: Jobs %v, want attempt %d's as the last", f.clock.Now().Sub(testStart), f.jobs(), step.wantJob)
		}
		if res.requeueAfter != step.wantRequeue {
			t.Errorf("at %v: requeueAfter = %v, want %v", f.clock.Now().Sub(testStart), res.requeueAfter, step.wantRequeue)
		}
	}
	if h := preHook(f); h.Phase != corev1alpha1.HookExecutionRunning || h.Attempts != 3 {
		t.Errorf("hook = %+v, want Running attempt 3", h)
	}
}

// TestHookRetryAfterRestart: the time of a failure is kept in memory only,
// so a restarted controller makes the next attempt at once.
func TestHookRetryAfterRestart(t *testing.T) {
	runner := &recordingPodRunner{failFirst: 1}
	f := podHookFixture(t, runner, func(h *corev1alpha1.HookInfo) { h.MaxRetry = 1 })
	f.start()
	f.mustSync()
	f.waitEnqueued()
	if res := f.mustSync(); res.requeueAfter != time.Second {
		t.Fatalf("requeueAfter = %v after the failed attempt, want the 1s backoff", res.requeueAfter)
	}
	f.mustSync()
	if n := len(runner.calls); n != 1 {
		t.Fatalf("pod runner called %d times during the backoff, want 1", n)
	}

	f.restart()
	f.mustSync()
	f.waitEnqueued()
	f.mustSync()
	if h := preHook(f); h.Phase != corev1alpha1.HookExecutionSucceeded || h.Attempts != 2 {
		t.Errorf("hook = %+v, want Succeeded after 2 attempts", h)
	}
	if n := len(runner.calls); n != 2 {
		t.Errorf("pod runner called %d times, want 2", n)
	}
}

package controller

import (
	"context"
	"math"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

// Operator and Pod hooks run user code: a request to an address a
// HookTemplate names, a command in a pod. An attempt may take as long as its
// timeout (minutes), so it never runs inside a sync, where it would hold
// one of the few workers and stall every other RestoreSession. The sync
// that makes an attempt starts it in a goroutine owned by the controller
// and returns; when the attempt ends the goroutine stores its outcome here
// and enqueues the RestoreSession; a later sync applies the outcome to
// status.hooks exactly as if the attempt had run inline.
//
// status.hooks stays the record. The table holds only what status cannot:
// the attempts in flight, their outcomes until a status that records them
// is in the cache, and when each hook last failed (see hookbackoff.go).
//
//   - An attempt is keyed by (RestoreSession UID, stage, hook index and
//     name, attempt number); a sync applies only the outcome of the attempt
//     its copy of status says is running.
//   - An outcome stays until the cached status has moved past its attempt
//     (a later attempt, or the hook ended). A sync on a stale copy, or one
//     whose status write failed, finds the outcome again instead of making
//     the attempt twice. The cache never shows a state that was not
//     written, so pruning by it never drops an outcome still needed.
//   - The entries of a RestoreSession that is gone, being deleted, ended,
//     or has another UID (deleted and created again) are dropped; running
//     attempts among them are cancelled and their outcomes discarded.
//   - At least once: a hook that status says is Running with an attempt
//     the table does not hold (the controller restarted, or the attempt was
//     cancelled) has that attempt started again. KubeStash's hooks may be
//     retried too, so a hook's action must tolerate being repeated.
//   - Shutdown cancels the running attempts. A cancelled attempt has no
//     outcome and is not counted as a failed attempt.

// hookID identifies one hook of one RestoreSession.
type hookID struct {
	uid   types.UID
	stage hookStage
	index int
	name  string
}

// hookAttemptKey identifies one attempt of a hook.
type hookAttemptKey struct {
	hookID
	attempt int32
}

func hookIDOf(rs *corev1alpha1.RestoreSession, stage hookStage, index int, name string) hookID {
	return hookID{uid: rs.UID, stage: stage, index: index, name: name}
}

// hookOutcome is what an ended attempt reports: the hook's result, or an
// API error that kept the attempt from being made (not counted).
type hookOutcome struct {
	result hookResult
	apiErr error
}

type hookAttempt struct {
	ref     cache.ObjectName
	cancel  context.CancelFunc
	done    bool
	outcome hookOutcome
}

// hookFailure is when the last failed attempt of a hook was seen.
type hookFailure struct {
	ref     cache.ObjectName
	attempt int32
	at      time.Time
}

// hookAttempts is the controller's table of Operator and Pod hook attempts.
type hookAttempts struct {
	// enqueue asks for a sync of a RestoreSession whose attempt ended.
	enqueue func(cache.ObjectName)
	// root is the parent of every attempt's context; stop cancels it.
	root       context.Context
	cancelRoot context.CancelFunc
	running    sync.WaitGroup

	mu       sync.Mutex
	stopped  bool
	attempts map[hookAttemptKey]*hookAttempt
	failures map[hookID]hookFailure
}

func newHookAttempts(enqueue func(cache.ObjectName)) *hookAttempts {
	root, cancel := context.WithCancel(context.Background())
	return &hookAttempts{
		enqueue:    enqueue,
		root:       root,
		cancelRoot: cancel,
		attempts:   map[hookAttemptKey]*hookAttempt{},
		failures:   map[hookID]hookFailure{},
	}
}

// start runs perform in a goroutine as attempt key of a hook of ref. The
// attempt's context carries the logger of ctx but not its lifetime: the
// attempt outlives the sync that starts it, and ends with its timeout
// (inside perform), when the table drops it, or at stop. It returns false,
// starting nothing, once stop was called.
func (t *hookAttempts) start(ctx context.Context, ref cache.ObjectName, key hookAttemptKey, perform func(context.Context) hookOutcome) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	attemptCtx, cancel := context.WithCancel(klog.NewContext(t.root, klog.FromContext(ctx)))
	a := &hookAttempt{ref: ref, cancel: cancel}
	t.attempts[key] = a
	t.running.Add(1)
	go func() {
		defer t.running.Done()
		defer cancel()
		out := perform(attemptCtx)
		t.mu.Lock()
		current := t.attempts[key] == a
		if current && attemptCtx.Err() != nil {
			// Cancelled at stop: no outcome, and not an attempt.
			delete(t.attempts, key)
			current = false
		}
		if current {
			a.done, a.outcome = true, out
		}
		t.mu.Unlock()
		if current {
			t.enqueue(ref)
		}
	}()
	return true
}

// lookup returns the attempt's outcome if it ended; found is false when the
// table does not hold the attempt.
func (t *hookAttempts) lookup(key hookAttemptKey) (out hookOutcome, done, found bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, found := t.attempts[key]
	if !found {
		return hookOutcome{}, false, false
	}
	return a.outcome, a.done, true
}

// discard drops an ended attempt whose outcome was consumed without being
// recorded in status (an API error): the attempt is to be made again.
func (t *hookAttempts) discard(key hookAttemptKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropLocked(key)
}

func (t *hookAttempts) dropLocked(key hookAttemptKey) {
	if a, ok := t.attempts[key]; ok {
		a.cancel()
		delete(t.attempts, key)
	}
}

// prune drops what the table holds for ref that the RestoreSession rs, as
// the cache has it, no longer needs: everything when rs is nil (gone),
// being deleted, ended or has another UID; otherwise the attempts and
// failure records of hooks its status has moved past.
func (t *hookAttempts) prune(ref cache.ObjectName, rs *corev1alpha1.RestoreSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := rs == nil || rs.DeletionTimestamp != nil || status.FinalStepExecuted(&rs.Status)
	drop := func(id hookID, attempt int32) bool {
		return all || id.uid != rs.UID || hookMovedPast(&rs.Status, id, attempt)
	}
	for key, a := range t.attempts {
		if a.ref == ref && drop(key.hookID, key.attempt) {
			t.dropLocked(key)
		}
	}
	for id, f := range t.failures {
		// A failure record is needed until the hook ends.
		if f.ref == ref && drop(id, math.MaxInt32) {
			delete(t.failures, id)
		}
	}
}

// hookMovedPast reports whether status shows the hook past the attempt:
// ended, or at a later attempt. A status without the hook, or at an earlier
// attempt, is a stale copy and keeps the attempt.
func hookMovedPast(st *corev1alpha1.RestoreSessionStatus, id hookID, attempt int32) bool {
	if st.Hooks == nil {
		return false
	}
	list := st.Hooks.PostHooks
	if id.stage == preRestore {
		list = st.Hooks.PreHooks
	}
	if id.index >= len(list) || list[id.index].Name != id.name {
		return false
	}
	switch e := list[id.index]; e.Phase {
	case corev1alpha1.HookExecutionSucceeded, corev1alpha1.HookExecutionFailed, corev1alpha1.HookExecutionSkipped:
		return true
	case corev1alpha1.HookExecutionRunning:
		return e.Attempts > attempt
	default:
		return false
	}
}

// recordFailure notes when failed attempt n of a hook was seen. The first
// sighting counts: a sync that applies the same failure again (its status
// write had failed) does not push the next attempt further out.
func (t *hookAttempts) recordFailure(ref cache.ObjectName, id hookID, attempt int32, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f, ok := t.failures[id]; ok && f.attempt == attempt {
		return
	}
	t.failures[id] = hookFailure{ref: ref, attempt: attempt, at: at}
}

// lastFailure returns the hook's last recorded failure.
func (t *hookAttempts) lastFailure(id hookID) (hookFailure, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.failures[id]
	return f, ok
}

// stop cancels every running attempt, waits for their goroutines and
// empties the table. Nothing starts after it.
func (t *hookAttempts) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	t.cancelRoot()
	t.running.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.attempts)
	clear(t.failures)
}

// inlineHookAttempt looks at attempt `attempt` of Operator or Pod hook i of
// the stage: it returns the attempt's result once it ended, running while
// it runs, and otherwise starts it (once its retry backoff has passed) and
// returns running. An API error of the attempt is returned as an error
// and the attempt is made again by a later sync, uncounted.
func (c *Controller) inlineHookAttempt(ctx context.Context, s *restoreState, stage hookStage, i int, h *resolvedHook, attempt int32) (hookResult, error) {
	key := hookAttemptKey{hookID: hookIDOf(s.rs, stage, i, h.info.Name), attempt: attempt}
	if out, done, found := c.hookAttempts.lookup(key); found {
		switch {
		case !done:
			return hookResult{running: true}, nil
		case out.apiErr != nil:
			c.hookAttempts.discard(key)
			return hookResult{}, out.apiErr
		}
		return out.result, nil
	}
	if c.waitForHookRetry(s, key) {
		return hookResult{running: true}, nil
	}
	action, err := prepareAction(h.template.Spec.Action, hookSummary(s.rs), hookVariables(s, h))
	if err != nil {
		return hookResult{failure: err.Error()}, nil
	}
	// This sync's status write records the attempt as Running: it must
	// not fail on a stale copy, or a sync on the stale copy would start
	// an attempt already made.
	if err := c.checkFresh(ctx, s); err != nil {
		return hookResult{}, err
	}
	call, err := c.newInlineHookCall(ctx, s, h, action)
	if err != nil {
		return hookResult{}, err
	}
	logger := klog.FromContext(ctx).WithValues("stage", stage, "hook", h.info.Name, "attempt", attempt)
	if c.hookAttempts.start(klog.NewContext(ctx, logger), s.key(), key, func(ctx context.Context) hookOutcome {
		out := c.performInlineHook(ctx, call)
		klog.FromContext(ctx).V(2).Info("Hook attempt ended", "failure", out.result.failure, "apiError", out.apiErr, "cancelled", ctx.Err() != nil)
		return out
	}) {
		logger.V(2).Info("Started hook attempt", "timeout", call.timeout)
	}
	// At shutdown nothing started: status says Running, and the next
	// controller starts the attempt.
	return hookResult{running: true}, nil
}

package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 5, pre-restore hooks: the hooks of spec.hooks.preRestore run;
// records PreRestoreHooksExecutionSucceeded. A failed one skips the
// restore Jobs. The post-restore hooks (step 8) run the same way.
//
// Hooks run one stage at a time, each stage's hooks in order. The state of
// every hook lives in status.hooks (phase, attempts, last failure), so a
// sync resumes exactly where the previous one stopped, after a restart too:
//
//   - Pending: not started. The first attempt sets Running and Attempts 1.
//   - Running: attempt Attempts is under way (a Function hook's Job, an
//     Operator or Pod hook's goroutine, see hookasync.go) or is about to be
//     made, after the retry backoff (hookbackoff.go). A failed attempt with
//     retries left increments Attempts; without, the hook is Failed.
//   - Succeeded, Failed, Skipped: final.
//
// The first Failed hook ends its stage: the hooks after it are Skipped and
// the stage's condition is False. A post-restore hook whose executionPolicy
// does not match the restore's outcome is Skipped. A stage ends by setting
// its condition, True or False; a stage with no hooks sets none.

// hookResult is the outcome of one look at a hook attempt.
type hookResult struct {
	running bool
	// failure is why the attempt failed; empty when it succeeded.
	failure string
}

func (s hookStage) condition() (condType, succeeded, failed, message string) {
	if s == preRestore {
		return corev1alpha1.TypePreRestoreHooksExecutionSucceeded, corev1alpha1.ReasonSuccessfullyExecutedPreRestoreHooks,
			corev1alpha1.ReasonFailedToExecutePreRestoreHooks, corev1alpha1.MessagePreRestoreHooksExecuted
	}
	return corev1alpha1.TypePostRestoreHooksExecutionSucceeded, corev1alpha1.ReasonSuccessfullyExecutedPostRestoreHooks,
		corev1alpha1.ReasonFailedToExecutePostRestoreHooks, corev1alpha1.MessagePostRestoreHooksExecuted
}

func (s hookStage) title() string {
	if s == preRestore {
		return "Pre-restore"
	}
	return "Post-restore"
}

// statusList returns the stage's hook statuses, creating a Pending entry
// per hook the first time.
func (s hookStage) statusList(rs *corev1alpha1.RestoreSession) []corev1alpha1.HookExecutionStatus {
	st := &rs.Status
	if st.Hooks == nil {
		st.Hooks = &corev1alpha1.HookStatus{}
	}
	list := &st.Hooks.PostHooks
	if s == preRestore {
		list = &st.Hooks.PreHooks
	}
	hooks := s.hooks(rs)
	if len(*list) != len(hooks) {
		*list = make([]corev1alpha1.HookExecutionStatus, len(hooks))
		for i, h := range hooks {
			(*list)[i] = corev1alpha1.HookExecutionStatus{Name: h.Name, Phase: corev1alpha1.HookExecutionPending}
		}
	}
	return *list
}

// initHookStatus lists every hook of the RestoreSession as Pending, so a
// user sees from the start which hooks will run.
func initHookStatus(rs *corev1alpha1.RestoreSession) {
	if rs.Spec.Hooks == nil || (len(rs.Spec.Hooks.PreRestore) == 0 && len(rs.Spec.Hooks.PostRestore) == 0) {
		return
	}
	preRestore.statusList(rs)
	postRestore.statusList(rs)
}

// runHooks advances the stage's hooks. It returns true when the stage has
// ended (its condition is set, or it has no hooks), false while a hook is
// running or is to be retried.
func (c *Controller) runHooks(ctx context.Context, s *restoreState, stage hookStage) (bool, error) {
	hooks := stage.hooks(s.rs)
	condType, reasonOK, _, messageOK := stage.condition()
	if len(hooks) == 0 || status.Has(s.status(), condType) {
		return true, nil
	}
	list := stage.statusList(s.rs)
	succeeded := status.OutcomeSucceeded(s.status())
	for i, info := range hooks {
		entry := &list[i]
		switch entry.Phase {
		case corev1alpha1.HookExecutionSucceeded, corev1alpha1.HookExecutionSkipped:
			continue
		case corev1alpha1.HookExecutionFailed:
			c.failStage(s, stage, list, i)
			return true, nil
		}
		if stage == postRestore && !policyMatches(info.ExecutionPolicy, succeeded) {
			entry.Phase = corev1alpha1.HookExecutionSkipped
			entry.Message = skipMessage(info.ExecutionPolicy, succeeded)
			s.recordEvent(corev1.EventTypeNormal, EventReasonHookSkipped, fmt.Sprintf("%s hook %q skipped: %s", stage.title(), info.Name, entry.Message))
			continue
		}
		ended, err := c.advanceHook(ctx, s, stage, i, entry)
		if err != nil || !ended {
			return false, err
		}
		if entry.Phase == corev1alpha1.HookExecutionFailed {
			c.failStage(s, stage, list, i)
			return true, nil
		}
	}
	s.setCondition(condType, metav1.ConditionTrue, reasonOK, messageOK)
	return true, nil
}

// failStage ends a stage at its failed hook i: the hooks after it are
// skipped and the stage's condition says which hook failed and why.
func (c *Controller) failStage(s *restoreState, stage hookStage, list []corev1alpha1.HookExecutionStatus, i int) {
	for j := i + 1; j < len(list); j++ {
		if list[j].Phase == corev1alpha1.HookExecutionPending {
			list[j].Phase = corev1alpha1.HookExecutionSkipped
			list[j].Message = fmt.Sprintf("hook %q failed before it", list[i].Name)
		}
	}
	condType, _, reason, _ := stage.condition()
	msg := fmt.Sprintf("%s hook %q failed after %d attempt(s): %s", stage.title(), list[i].Name, list[i].Attempts, list[i].Message)
	s.setCondition(condType, metav1.ConditionFalse, reason, msg)
	s.recordEvent(corev1.EventTypeWarning, EventReasonHookFailed, msg)
}

// advanceHook makes or checks one attempt of hook i. It returns true when
// the hook has ended (Succeeded or Failed).
func (c *Controller) advanceHook(ctx context.Context, s *restoreState, stage hookStage, i int, entry *corev1alpha1.HookExecutionStatus) (bool, error) {
	logger := klog.FromContext(ctx).WithValues("stage", stage, "hook", entry.Name)
	info := stage.hooks(s.rs)[i]
	h, errs, _, err := c.resolveHook(ctx, s.rs, stage, info, stage.path().Index(i))
	if err != nil {
		return false, err
	}
	if len(errs) > 0 {
		// Validation passed once; the template or Function changed since.
		entry.Phase = corev1alpha1.HookExecutionFailed
		entry.Message = validationMessage(errs)
		return true, nil
	}
	if entry.Phase != corev1alpha1.HookExecutionRunning {
		entry.Phase = corev1alpha1.HookExecutionRunning
		entry.Attempts = 1
		entry.Message = ""
	}

	var res hookResult
	if h.template.Spec.Executor.Type == corev1alpha1.HookExecutorFunction {
		res, err = c.functionHookAttempt(ctx, s, stage, i, h, entry.Attempts)
	} else {
		res, err = c.inlineHookAttempt(ctx, s, stage, i, h, entry.Attempts)
	}
	if err != nil {
		return false, err
	}
	switch {
	case res.running:
		return false, nil
	case res.failure == "":
		logger.Info("Hook succeeded", "attempts", entry.Attempts)
		entry.Phase = corev1alpha1.HookExecutionSucceeded
		entry.Message = ""
		s.recordEvent(corev1.EventTypeNormal, EventReasonHookSucceeded, fmt.Sprintf("%s hook %q succeeded.", stage.title(), entry.Name))
		return true, nil
	}
	entry.Message = res.failure
	maxAttempts := info.MaxRetry + 1
	if entry.Attempts < maxAttempts {
		backoff := c.opts.hookRetryBackoff(entry.Attempts)
		logger.Info("Hook attempt failed; retrying", "attempt", entry.Attempts, "maxAttempts", maxAttempts, "backoff", backoff, "error", res.failure)
		s.recordEvent(corev1.EventTypeWarning, EventReasonHookAttemptFailed,
			fmt.Sprintf(EventMessageHookAttemptFailed, stage.title(), entry.Name, entry.Attempts, maxAttempts, res.failure))
		// The next attempt is made by the first sync after the backoff
		// (hookbackoff.go).
		c.hookAttempts.recordFailure(s.key(), hookIDOf(s.rs, stage, i, entry.Name), entry.Attempts, s.now.Time)
		s.result.requeueWithin(backoff)
		entry.Attempts++
		return false, nil
	}
	logger.Info("Hook failed", "attempts", entry.Attempts, "error", res.failure)
	entry.Phase = corev1alpha1.HookExecutionFailed
	return true, nil
}

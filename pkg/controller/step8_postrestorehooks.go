package controller

import (
	"context"
	"fmt"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// Step 8, post-restore hooks: the hooks of spec.hooks.postRestore whose
// executionPolicy matches the outcome run, as the pre-restore hooks do
// (step5_prerestorehooks.go), and PostRestoreHooksExecutionSucceeded is
// recorded.

// afterRestoreJobs runs the last two steps once the outcome of the
// restore Jobs is settled, or no restore Job will run (a pre-restore hook
// failed, the Jobs cannot be made): the post-restore hooks, then finish.
func (c *Controller) afterRestoreJobs(ctx context.Context, s *restoreState) error {
	if done, err := c.runHooks(ctx, s, postRestore); err != nil || !done {
		return err
	}
	return c.finish(ctx, s)
}

// policyMatches reports whether a post-restore hook with the policy runs
// after a restore that succeeded or not.
func policyMatches(p corev1alpha1.HookExecutionPolicy, succeeded bool) bool {
	switch p {
	case corev1alpha1.ExecuteOnSuccess:
		return succeeded
	case corev1alpha1.ExecuteOnFailure:
		return !succeeded
	default:
		return true
	}
}

func skipMessage(p corev1alpha1.HookExecutionPolicy, succeeded bool) string {
	outcome := "failed"
	if succeeded {
		outcome = "succeeded"
	}
	return fmt.Sprintf("executionPolicy is %s and the restore %s", p, outcome)
}

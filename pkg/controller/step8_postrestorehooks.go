package controller

import (
	"context"
	"fmt"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

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

// afterRestore runs once the restore's outcome is settled: the post-restore
// hooks, then the final step.
func (c *Controller) afterRestore(ctx context.Context, s *restoreState) error {
	if done, err := c.runHooks(ctx, s, postRestore); err != nil || !done {
		return err
	}
	return c.finish(ctx, s)
}

package controller

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 7, watch the restore Jobs: the restore executors report their
// components themselves; the controller records RestoreIncomplete when a
// restore Job ends before its component, and gives a component the
// executor left without an error the failed container's termination
// message (fillComponentError).

// jobFinished returns the condition that ended a Job, if it has ended.
func jobFinished(job *batchv1.Job) (batchv1.JobCondition, bool) {
	for _, cond := range job.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return cond, true
		}
	}
	return batchv1.JobCondition{}, false
}

// watchRestoreJobs compares each component's restore Job with the
// component's status. The restore executor reports its component itself;
// the controller only notices a restore Job that ended (or vanished) while
// its component was unfinished, and then sets RestoreIncomplete True with
// the Job's reason. The component's status stays as the restore executor
// left it, but for the error of a component the executor could not report
// (fillComponentError).
//
// The restore executor writes its final status before it exits, so a Job
// can be seen finished before the informer delivers that status. Before
// declaring a component incomplete the controller therefore checks that
// its copy of the RestoreSession is the API server's latest.
//
// It returns how many unfinished components still have a running restore
// Job: the restore does not end while any does, so backups are never
// resumed while a restore executor may still be writing.
func (c *Controller) watchRestoreJobs(ctx context.Context, s *restoreState) (running int, err error) {
	st := s.status()
	var problems []string
	var failed []failedJob
	for _, comp := range s.components {
		if status.IsComponentFinished(st.Components[comp].Phase) {
			continue
		}
		name := names.RestoreJob(s.rs, comp)
		job, err := c.jobs.Jobs(s.rs.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			if created, ok := s.createdJobs[name]; ok {
				// Created in this very sync (by ensureRestoreJobs): it
				// exists and has not run yet.
				job, err = created, nil
			} else {
				// A Job created moments ago by an earlier sync may not
				// be in the cache yet: only the API can tell that it is
				// gone.
				job, err = c.kubeClient.BatchV1().Jobs(s.rs.Namespace).Get(ctx, name, metav1.GetOptions{})
			}
		}
		switch {
		case apierrors.IsNotFound(err):
			problems = append(problems, fmt.Sprintf("restore Job %s of component %q was deleted before the component finished", name, comp))
		case err != nil:
			return 0, err
		default:
			cond, finished := jobFinished(job)
			if !finished {
				running++
				continue
			}
			if cond.Type == batchv1.JobComplete {
				problems = append(problems, fmt.Sprintf("restore Job %s of component %q completed without reporting the component's result", name, comp))
			} else {
				// Described once the component's error is complete.
				problems = append(problems, "")
				failed = append(failed, failedJob{problem: len(problems) - 1, component: comp, job: job, cond: cond})
			}
		}
	}
	if len(problems) == 0 || status.IsTrue(st, corev1alpha1.TypeRestoreIncomplete) {
		return running, nil
	}
	if err := c.checkFresh(ctx, s); err != nil {
		return 0, err
	}
	for _, f := range failed {
		if err := c.fillComponentError(ctx, s, f.component, f.job); err != nil {
			return 0, err
		}
		problem := fmt.Sprintf("restore Job %s of component %q failed (%s: %s)", f.job.Name, f.component, f.cond.Reason, f.cond.Message)
		if last := st.Components[f.component].Error; last != "" {
			problem += "; the executor's last error: " + last
		}
		problems[f.problem] = problem
	}
	msg := strings.Join(problems, "; ") + "."
	s.setCondition(corev1alpha1.TypeRestoreIncomplete, metav1.ConditionTrue, corev1alpha1.ReasonRestoreExecutorTerminatedBeforeCompletion, msg)
	s.recordEvent(corev1.EventTypeWarning, EventReasonRestoreJobEnded, msg)
	return running, nil
}

// failedJob is a restore Job that failed before its component finished;
// problems[problem] describes it.
type failedJob struct {
	problem   int
	component string
	job       *batchv1.Job
	cond      batchv1.JobCondition
}

// fillComponentError gives a component without an error the termination
// message of its failed restore Job's last failed container
// (jobpods.go): the executor failed before it could say why in
// status. An error the executor wrote is kept, as is the component's
// phase: the executor reports its component, the controller only fills
// in what the executor could not write.
func (c *Controller) fillComponentError(ctx context.Context, s *restoreState, comp string, job *batchv1.Job) error {
	st := s.status()
	if st.Components[comp].Error != "" {
		return nil
	}
	msg, err := c.jobTerminationMessage(ctx, job)
	if err != nil || msg == "" {
		return err
	}
	if st.Components == nil {
		st.Components = map[string]corev1alpha1.ComponentRestoreStatus{}
	}
	cs := st.Components[comp]
	cs.Error = msg
	st.Components[comp] = cs
	return nil
}

// restoreEnded reports whether nothing more can happen to the components:
// no restore Job is still running, and either every component finished or
// a restore Job ended before its component did.
func restoreEnded(st *corev1alpha1.RestoreSessionStatus, running int) bool {
	return running == 0 &&
		(status.AllComponentsCompleted(st) || status.IsTrue(st, corev1alpha1.TypeRestoreIncomplete))
}

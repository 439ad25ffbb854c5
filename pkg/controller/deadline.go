package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

// MessageDeadlineExceeded says why a restore failed at its deadline.
const MessageDeadlineExceeded = "The restore did not complete within spec.restoreTimeout (%s): restoreDeadline %s passed with %d of %d components finished; the remaining restore Jobs were stopped. They read from %s."

// storageLocation names a BackupStorage and where it keeps the data, for
// a message about a restore that could not finish reading from it (the
// storage may have been unreachable).
func storageLocation(bs *storagev1alpha1.BackupStorage) string {
	if bs == nil {
		return "the Repository's BackupStorage"
	}
	b := bs.Spec.Storage
	var where string
	switch {
	case b.S3 != nil:
		where = fmt.Sprintf("s3 %s, bucket %s", b.S3.Endpoint, b.S3.Bucket)
	case b.GCS != nil:
		where = "gcs bucket " + b.GCS.Bucket
	case b.Azure != nil:
		where = fmt.Sprintf("azure account %s, container %s", b.Azure.StorageAccount, b.Azure.Container)
	case b.Local != nil:
		where = "local " + b.Local.MountPath
	default:
		where = string(b.Provider)
	}
	return fmt.Sprintf("BackupStorage %s/%s (%s)", bs.Namespace, bs.Name, where)
}

// initDeadline sets status.restoreDeadline once, at the first sync that
// passed validation (the restore starts running), from
// spec.restoreTimeout. It is never moved, so a restarted controller keeps
// the deadline the restore started with.
func (c *Controller) initDeadline(s *restoreState) {
	st := s.status()
	if st.RestoreDeadline != nil || s.rs.Spec.RestoreTimeout == nil {
		return
	}
	deadline := metav1.NewTime(s.now.Add(s.rs.Spec.RestoreTimeout.Duration))
	st.RestoreDeadline = &deadline
}

// deadlineExceeded reports whether the restore is past its deadline with
// components unfinished, and records DeadlineExceeded when it first is.
func (c *Controller) deadlineExceeded(s *restoreState) bool {
	st := s.status()
	if status.IsTrue(st, corev1alpha1.TypeDeadlineExceeded) {
		return true
	}
	if st.RestoreDeadline == nil || s.now.Before(st.RestoreDeadline) || status.AllComponentsCompleted(st) {
		return false
	}
	finished := 0
	for _, comp := range st.Components {
		if status.IsComponentFinished(comp.Phase) {
			finished++
		}
	}
	// The deadline stays even when spec.restoreTimeout is removed later.
	timeout := "since removed"
	if t := s.rs.Spec.RestoreTimeout; t != nil {
		timeout = t.Duration.String()
	}
	msg := fmt.Sprintf(MessageDeadlineExceeded, timeout, st.RestoreDeadline.UTC().Format(time.RFC3339), finished, st.TotalComponents, storageLocation(s.storage))
	s.setCondition(corev1alpha1.TypeDeadlineExceeded, metav1.ConditionTrue, corev1alpha1.ReasonFailedToCompleteWithinDeadline, msg)
	s.recordEvent(corev1.EventTypeWarning, EventReasonDeadlineExceeded, msg)
	return true
}

// requeueForDeadline makes sure the restore is looked at when its deadline
// passes, even if nothing else happens until then.
func (c *Controller) requeueForDeadline(s *restoreState) {
	if d := s.status().RestoreDeadline; d != nil {
		s.result.requeueWithin(d.Sub(s.now.Time) + time.Second)
	}
}

// stopJobs deletes the RestoreSession's unfinished Jobs (restore and hook
// Jobs) and their pods. Finished Jobs stay, with their pods' logs, until
// the RestoreSession goes.
func (c *Controller) stopJobs(ctx context.Context, s *restoreState) error {
	jobs, err := c.ownedJobs(s.rs)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if _, finished := jobFinished(job); finished || job.DeletionTimestamp != nil {
			continue
		}
		if err := c.deleteJob(ctx, job); err != nil {
			return fmt.Errorf("stopping at the deadline: %w", err)
		}
		klog.FromContext(ctx).Info("Stopped Job at the deadline", "job", klog.KObj(job))
	}
	return nil
}

// abortHooks ends the hooks a stopped restore (its deadline passed) leaves
// unfinished: a running hook failed, a pending one skipped.
func abortHooks(st *corev1alpha1.RestoreSessionStatus, reason string) {
	if st.Hooks == nil {
		return
	}
	for _, list := range [][]corev1alpha1.HookExecutionStatus{st.Hooks.PreHooks, st.Hooks.PostHooks} {
		for i := range list {
			switch list[i].Phase {
			case corev1alpha1.HookExecutionRunning:
				list[i].Phase = corev1alpha1.HookExecutionFailed
				list[i].Message = strings.TrimSpace(list[i].Message + " " + reason)
			case corev1alpha1.HookExecutionPending, "":
				list[i].Phase = corev1alpha1.HookExecutionSkipped
				list[i].Message = reason
			}
		}
	}
}

package controller

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

// ensureExecutor makes sure every component has its restore Job, with the
// permissions and volumes the Jobs need, and records
// RestoreExecutorEnsured. Once that is True no Job is created again: a Job
// that disappears later ends its component (see watchExecutors) instead of
// silently restarting a restore that may have been stopped on purpose.
//
// Every Job is built before any is created, so a RestoreSession whose
// settings cannot make a valid Job creates none. Such user errors set
// RestoreExecutorEnsured False, which ends the restore; API failures a
// retry can fix are returned.
func (c *Controller) ensureExecutor(ctx context.Context, s *restoreState) (bool, error) {
	st := s.status()
	if status.IsTrue(st, corev1alpha1.TypeRestoreExecutorEnsured) {
		return true, nil
	}
	logger := klog.FromContext(ctx)
	fail := func(msg string) (bool, error) {
		s.setCondition(corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, msg)
		s.recordEvent(corev1.EventTypeWarning, EventReasonExecutorFailed, msg)
		return false, nil
	}
	// A permanent error ends the restore; any other is retried.
	failOrRetry := func(err error, context string) (bool, error) {
		if permanent(err) {
			return fail(context + err.Error())
		}
		return false, err
	}
	if len(s.components) == 0 {
		return fail("There is no component to restore.")
	}

	// The namespace's Pod Security level decides the Jobs' security
	// context, and whether their pods can be admitted at all: a Job whose
	// pods are rejected would wait forever.
	pss, err := c.podSecurityOf(ctx, s.rs.Namespace)
	if err != nil {
		return false, err
	}
	if err := pss.checkStorage(s.storage); err != nil {
		return fail(err.Error())
	}

	serviceAccount, ownSA := executorServiceAccount(s.rs)
	if sa := storageServiceAccount(s.storage); ownSA && sa != "" {
		// The storage's own account (for example one bound to a cloud
		// identity), under the RestoreSession's: its user grants it.
		serviceAccount, ownSA = sa, false
	}
	jobs := make([]*batchv1.Job, 0, len(s.components))
	for _, comp := range s.components {
		job, err := buildJob(s, comp, serviceAccount, *c.opts.ExecutorBackoffLimit, pss)
		if err != nil {
			return fail(fmt.Sprintf("Unable to build the restore Job of component %q: %v", comp, err))
		}
		jobs = append(jobs, job)
	}

	if ownSA {
		if err := c.ensureExecutorPermissions(ctx, s, serviceAccount); err != nil {
			return failOrRetry(err, "Unable to grant the executor its permissions: ")
		}
	}
	if err := c.ensureTargetClaims(ctx, s); err != nil {
		return failOrRetry(err, "")
	}
	for _, job := range jobs {
		created, err := c.ensureJob(ctx, s.rs, job)
		if err != nil {
			return failOrRetry(err, fmt.Sprintf("Unable to create restore Job %s: ", job.Name))
		}
		if created {
			logger.Info("Created restore Job", "job", klog.KObj(job), "component", job.Annotations[AnnotationComponent])
			s.recordEvent(corev1.EventTypeNormal, EventReasonJobCreated,
				fmt.Sprintf("Created restore Job %s for component %q.", job.Name, job.Annotations[AnnotationComponent]))
		}
	}
	s.setCondition(corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor, corev1alpha1.MessageRestoreExecutorEnsured)
	return true, nil
}

// permanent reports whether no retry can get past err: a problem with the
// RestoreSession's settings, or an object the API server refuses as invalid.
func permanent(err error) bool {
	var ue *userError
	return errors.As(err, &ue) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}

// ensureJob creates the Job unless it exists. The deterministic name is the
// lock: a Job of that name that this RestoreSession does not control is an
// error, never adopted.
func (c *Controller) ensureJob(ctx context.Context, rs *corev1alpha1.RestoreSession, job *batchv1.Job) (bool, error) {
	existing, err := c.jobs.Jobs(job.Namespace).Get(job.Name)
	if err == nil {
		return false, checkControlled(existing, rs)
	}
	if !apierrors.IsNotFound(err) {
		return false, err
	}
	_, err = c.kubeClient.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: ControllerName})
	if apierrors.IsAlreadyExists(err) {
		// The cache was behind: look at the real one.
		existing, err := c.kubeClient.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return false, checkControlled(existing, rs)
	}
	if err != nil {
		return false, fmt.Errorf("creating restore Job %s: %w", job.Name, err)
	}
	return true, nil
}

func checkControlled(obj metav1.Object, rs *corev1alpha1.RestoreSession) error {
	if ref := metav1.GetControllerOf(obj); ref != nil && ref.UID == rs.UID {
		return nil
	}
	return userErrorf("Job %s/%s already exists and is not controlled by this RestoreSession", obj.GetNamespace(), obj.GetName())
}

// ownedJobs lists the Jobs this RestoreSession controls.
func (c *Controller) ownedJobs(rs *corev1alpha1.RestoreSession) ([]*batchv1.Job, error) {
	selector := labels.SelectorFromSet(labels.Set{
		LabelManagedBy:        ManagedByValue,
		LabelInvokerName:      labelValue(rs.Name),
		LabelInvokerNamespace: rs.Namespace,
	})
	all, err := c.jobs.Jobs(rs.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	var owned []*batchv1.Job
	for _, job := range all {
		if ref := metav1.GetControllerOf(job); ref != nil && ref.UID == rs.UID {
			owned = append(owned, job)
		}
	}
	return owned, nil
}

// ensureTargetClaims creates, for a restore into volumes that do not exist
// yet, the PVCs named by claim templates (a StatefulSet's replica PVCs
// before the StatefulSet creates them). They are deliberately not owned by
// the RestoreSession: they hold the restored data and must outlive it.
func (c *Controller) ensureTargetClaims(ctx context.Context, s *restoreState) error {
	for _, comp := range s.components {
		for _, t := range s.tasks {
			for _, tpl := range claimTemplates(s, t) {
				claim, err := claimForTemplate(s, tpl.Name, comp)
				if err != nil {
					return err
				}
				pvc := &corev1.PersistentVolumeClaim{
					ObjectMeta: metav1.ObjectMeta{
						Name:        claim,
						Namespace:   s.rs.Namespace,
						Labels:      tpl.Labels,
						Annotations: tpl.Annotations,
					},
					Spec: *tpl.Spec.DeepCopy(),
				}
				_, err = c.kubeClient.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{FieldManager: ControllerName})
				switch {
				case err == nil:
					klog.FromContext(ctx).Info("Created target PVC from its claim template", "pvc", klog.KObj(pvc))
				case apierrors.IsAlreadyExists(err):
				case apierrors.IsInvalid(err):
					return userErrorf("claim template %q makes an invalid PVC %s: %v", tpl.Name, claim, err)
				default:
					return fmt.Errorf("creating target PVC %s: %w", claim, err)
				}
			}
		}
	}
	return nil
}

// claimTemplates are the claim templates the task's target volumes come
// from: the user's, or a StatefulSet target's own when none are given.
func claimTemplates(s *restoreState, t resolvedTask) []corev1.PersistentVolumeClaimTemplate {
	if tv := t.ref.TargetVolumes; tv != nil && (len(tv.Volumes) > 0 || len(tv.VolumeClaimTemplates) > 0) {
		return tv.VolumeClaimTemplates
	}
	if tg := s.rs.Spec.Target; tg != nil && tg.Kind == kindStatefulSet && s.statefulSet != nil {
		var out []corev1.PersistentVolumeClaimTemplate
		for _, pvc := range s.statefulSet.Spec.VolumeClaimTemplates {
			out = append(out, corev1.PersistentVolumeClaimTemplate{
				ObjectMeta: metav1.ObjectMeta{Name: pvc.Name, Labels: pvc.Labels, Annotations: pvc.Annotations},
				Spec:       pvc.Spec,
			})
		}
		return out
	}
	return nil
}

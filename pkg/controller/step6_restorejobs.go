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
	"github.com/restore-controller/restore/pkg/controller/jobbuild"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 6, restore Jobs: one restore Job per component, each running the
// restore executor. KubeStash calls this step "ensuring the restore
// executor", hence the condition's name, RestoreExecutorEnsured.

// ensureRestoreJobs makes sure every component has its restore Job, with
// the permissions and volumes the Jobs need, and records
// RestoreExecutorEnsured. Once that is True no Job is created again: a Job
// that disappears later ends its component (see watchRestoreJobs) instead
// of silently restarting a restore that may have been stopped on purpose.
//
// Every Job is built before any is created, so a RestoreSession whose
// settings cannot make a valid Job creates none. Such user errors set
// RestoreExecutorEnsured False, which ends the restore; API failures a
// retry can fix are returned.
func (c *Controller) ensureRestoreJobs(ctx context.Context, s *restoreState) (bool, error) {
	st := s.status()
	if status.IsTrue(st, corev1alpha1.TypeRestoreExecutorEnsured) {
		return true, nil
	}
	logger := klog.FromContext(ctx)
	fail := func(msg string) (bool, error) {
		s.setCondition(corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, msg)
		s.recordEvent(corev1.EventTypeWarning, EventReasonRestoreJobsFailed, msg)
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
	// The storage the Jobs read: none for a restore that reads no data.
	storage := jobbuild.ReadStorage(s.rs, s.storage)
	if err := pss.CheckStorage(storage); err != nil {
		return fail(err.Error())
	}

	serviceAccount, ownSA := jobServiceAccount(s.rs)
	grant := true
	if sa := jobbuild.StorageServiceAccount(storage); ownSA && sa != "" {
		// The storage's own account (for example one bound to a cloud
		// identity), under the RestoreSession's: its user grants it.
		serviceAccount, ownSA, grant = sa, false, false
	}
	jobs := make([]*batchv1.Job, 0, len(s.components))
	var claims []jobbuild.TargetClaim
	for _, comp := range s.components {
		in := c.restoreJobInput(s, comp, serviceAccount, pss)
		job, err := jobbuild.RestoreJob(in)
		if err == nil {
			var compClaims []jobbuild.TargetClaim
			compClaims, err = jobbuild.TargetClaims(in)
			claims = append(claims, compClaims...)
		}
		if err != nil {
			return fail(fmt.Sprintf("Unable to build the restore Job of component %q: %v", comp, err))
		}
		jobs = append(jobs, job)
	}

	if grant {
		if err := c.ensureGrants(ctx, s, serviceAccount, ownSA); err != nil {
			return failOrRetry(err, "Unable to grant the executor its permissions: ")
		}
	}
	if err := c.ensureTargetClaims(ctx, claims); err != nil {
		return failOrRetry(err, "")
	}
	for _, job := range jobs {
		created, err := c.ensureJob(ctx, s.rs, job)
		if err != nil {
			return failOrRetry(err, fmt.Sprintf("Unable to create restore Job %s: ", job.Name))
		}
		if created {
			if s.createdJobs == nil {
				s.createdJobs = map[string]*batchv1.Job{}
			}
			s.createdJobs[job.Name] = job
			logger.Info("Created restore Job", "job", klog.KObj(job), "component", job.Annotations[AnnotationComponent])
			s.recordEvent(corev1.EventTypeNormal, EventReasonRestoreJobCreated,
				fmt.Sprintf("Created restore Job %s for component %q.", job.Name, job.Annotations[AnnotationComponent]))
		}
	}
	s.setCondition(corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor, corev1alpha1.MessageRestoreExecutorEnsured)
	return true, nil
}

// userError is a problem with the RestoreSession or the objects it refers to
// that no retry can fix: the restore fails with this message.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, args ...any) error { return &userError{fmt.Sprintf(format, args...)} }

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
		LabelInvokerName:      names.LabelValue(rs.Name),
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

// restoreJobInput is what the restore Job of a component is built from.
func (c *Controller) restoreJobInput(s *restoreState, component, serviceAccount string, pss jobbuild.PodSecurity) jobbuild.RestoreJobInput {
	labels := invokerLabels(s.rs)
	labels[LabelComponent] = names.LabelValue(component)
	in := jobbuild.RestoreJobInput{
		Meta: jobbuild.Meta{
			Name:        names.RestoreJob(s.rs, component),
			Labels:      labels,
			Annotations: map[string]string{AnnotationComponent: component},
			Owner:       controllerRef(s.rs),
		},
		RestoreSession: s.rs,
		Component:      component,
		Components:     s.components,
		Tasks:          s.tasks,
		Snapshot:       s.snapshot,
		Storage:        s.storage,
		Variables:      restoreVariables(s),
		ServiceAccount: serviceAccount,
		BackoffLimit:   *c.opts.ExecutorBackoffLimit,
		PodSecurity:    pss,
		Now:            s.now.Time,
	}
	if w := s.target; w != nil {
		in.TargetClaimTemplates = w.claimTemplates
		if w.podTemplate != nil {
			in.TargetPodVolumes = w.podTemplate.Spec.Volumes
			in.TargetContainers = w.podTemplate.Spec.Containers
		}
	}
	return in
}

// ensureTargetClaims creates the target PVCs described by claim templates
// (see jobbuild.TargetClaims) that do not exist yet. They are deliberately not
// owned by the RestoreSession: they hold the restored data and must
// outlive it.
func (c *Controller) ensureTargetClaims(ctx context.Context, claims []jobbuild.TargetClaim) error {
	for _, claim := range claims {
		pvc := claim.PVC
		_, err := c.kubeClient.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{FieldManager: ControllerName})
		switch {
		case err == nil:
			klog.FromContext(ctx).Info("Created target PVC from its claim template", "pvc", klog.KObj(pvc))
		case apierrors.IsAlreadyExists(err):
		case apierrors.IsInvalid(err):
			return userErrorf("claim template %q makes an invalid PVC %s: %v", claim.Template, pvc.Name, err)
		default:
			return fmt.Errorf("creating target PVC %s: %w", pvc.Name, err)
		}
	}
	return nil
}

// podSecurityOf reads the Pod Security level the namespace enforces.
func (c *Controller) podSecurityOf(ctx context.Context, namespace string) (jobbuild.PodSecurity, error) {
	ns, err := c.kubeClient.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return jobbuild.PodSecurity{}, fmt.Errorf("reading namespace %s for its Pod Security level: %w", namespace, err)
	}
	return jobbuild.PodSecurityOf(ns), nil
}

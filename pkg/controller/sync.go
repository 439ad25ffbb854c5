package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/jobbuild"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/pkg/status"
)

// syncResult asks for a later sync when nothing else would trigger one: a
// deadline to enforce, a target that is polled for.
type syncResult struct {
	requeueAfter time.Duration
}

func (r *syncResult) requeueWithin(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if r.requeueAfter == 0 || d < r.requeueAfter {
		r.requeueAfter = d
	}
}

// restoreState is one sync's working copy of a RestoreSession and everything
// the steps resolved for it. Steps change rs.Status only; the sync handler
// writes it once at the end, then records the queued Events.
type restoreState struct {
	rs     *corev1alpha1.RestoreSession
	now    metav1.Time
	result syncResult
	events []event

	// Resolved by validation (first sync) or reloaded from the recorded
	// dependencies on later syncs.
	snapshot   *storagev1alpha1.Snapshot
	repository *storagev1alpha1.Repository
	storage    *storagev1alpha1.BackupStorage
	addon      *addonsv1alpha1.Addon
	tasks      []jobbuild.Task
	// target is the restore target as this sync read it (readTarget);
	// targetRead says it was read, targetErr how that failed.
	target     *targetWorkload
	targetErr  error
	targetRead bool
	// encryptionSecret and storageSecret are the Secrets the restore
	// executor may read; nil when there is none, or the RestoreSession may
	// not read it.
	encryptionSecret, storageSecret *refs.Ref
	// components are the snapshot components this restore restores.
	components []string
	// createdJobs are the restore Jobs this sync created, by name: the
	// cache cannot hold them yet, and asking the API whether they exist
	// would cost every new restore a request per Job.
	createdJobs map[string]*batchv1.Job
}

// setResolution stores what the RestoreSession's data source resolved to.
func (s *restoreState) setResolution(res *refs.Resolution) {
	s.snapshot, s.repository, s.storage = res.Snapshot, res.Repository, res.Storage
	s.encryptionSecret, s.storageSecret = res.EncryptionSecret, res.StorageSecret
}

type event struct {
	eventType, reason, message string
}

func (s *restoreState) status() *corev1alpha1.RestoreSessionStatus { return &s.rs.Status }

// key is the RestoreSession's workqueue key.
func (s *restoreState) key() cache.ObjectName {
	return cache.ObjectName{Namespace: s.rs.Namespace, Name: s.rs.Name}
}

func (s *restoreState) setCondition(condType string, st metav1.ConditionStatus, reason, message string) {
	status.SetCondition(s.status(), condType, st, reason, message, s.rs.Generation, s.now)
}

func (s *restoreState) recordEvent(eventType, reason, message string) {
	s.events = append(s.events, event{eventType, reason, message})
}

// syncHandler brings one RestoreSession one step closer to done. It is
// level-triggered: everything it decides follows from the object, the cache
// and the API, never from what an earlier call did, and every action it
// takes is safe to repeat.
func (c *Controller) syncHandler(ctx context.Context, ref cache.ObjectName) (syncResult, error) {
	logger := klog.FromContext(ctx)
	cached, err := c.restoreSessions.RestoreSessions(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("RestoreSession is gone")
		c.hookAttempts.prune(ref, nil)
		return syncResult{}, nil
	}
	if err != nil {
		return syncResult{}, err
	}
	// Hook attempts the written status has moved past, or of a
	// RestoreSession that ended or was replaced, are dropped.
	c.hookAttempts.prune(ref, cached)
	// The cache's object is shared: work on a copy.
	rs := cached.DeepCopy()

	if rs.DeletionTimestamp != nil || status.FinalStepExecuted(&rs.Status) {
		// A deleted or finished restore is not processed again; what it
		// may have left outside its own objects (a backup still paused,
		// a grant in another namespace, the finalizer) is cleaned up.
		return syncResult{}, c.cleanUp(ctx, rs)
	}

	s := &restoreState{rs: rs, now: metav1.NewTime(c.opts.Clock.Now())}
	stepErr := c.reconcile(ctx, s)
	rs.Status.Phase = status.CalculatePhase(&rs.Status)
	rs.Status.Progress = status.Progress(&rs.Status)

	if !equality.Semantic.DeepEqual(cached.Status, rs.Status) {
		if _, err := c.client.CoreV1alpha1().RestoreSessions(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{FieldManager: ControllerName}); err != nil {
			// The Events describe a status that was not written: drop
			// them, the retry records them again.
			return syncResult{}, errors.Join(stepErr, fmt.Errorf("updating status: %w", err))
		}
		if cached.Status.Phase != rs.Status.Phase {
			logger.Info("RestoreSession phase changed", "from", cached.Status.Phase, "to", rs.Status.Phase)
		}
		if status.FinalStepExecuted(&rs.Status) {
			logger.Info("Restore finished", "phase", rs.Status.Phase, "duration", rs.Status.Duration)
			if c.opts.Metrics != nil {
				c.opts.Metrics.observeFinished(rs)
			}
		}
	}
	for _, e := range s.events {
		c.recorder.Event(rs, e.eventType, e.reason, e.message)
	}
	return s.result, stepErr
}

// reconcile runs the steps of the restore flow in order, each in the file
// named after it, with the condition it records:
//
//	step1_validate.go          ValidationPassed
//	deadline.go                (every sync) past the deadline: stop the Jobs, finish
//	step2_target.go            RestoreTargetFound
//	step3_components.go        status.totalComponents
//	step4_pausebackups.go      status.pausedBackups
//	step5_prerestorehooks.go   PreRestoreHooksExecutionSucceeded
//	step6_restorejobs.go       RestoreExecutorEnsured
//	step7_watchrestorejobs.go  RestoreIncomplete
//	step8_postrestorehooks.go  PostRestoreHooksExecutionSucceeded
//	step9_finish.go            MetricsPushed
//
// A step that cannot go on yet (a missing target, running Jobs) ends the
// sync without error; a step that failed for a reason a retry can fix
// returns an error (the sync is retried with backoff). User errors are
// never returned: they become conditions and Events.
func (c *Controller) reconcile(ctx context.Context, s *restoreState) error {
	st := s.status()
	if st.Phase == "" {
		s.recordEvent(corev1.EventTypeNormal, EventReasonRestoreStarted, fmt.Sprintf(EventMessageRestoreStarted, s.rs.Spec.DataSource.Snapshot))
	}

	if !status.IsTrue(st, corev1alpha1.TypeValidationPassed) {
		valid, err := c.validate(ctx, s)
		if err != nil || !valid {
			return err
		}
	} else if err := c.loadDependencies(ctx, s); err != nil {
		return err
	}
	// The deadline counts from the first sync that passed validation: a
	// restore that waited Invalid for a Snapshot or Secret to appear has
	// not started.
	c.initDeadline(s)

	if c.deadlineExceeded(s) {
		// The deadline bounds the hooks too: none runs after it.
		if err := c.stopJobs(ctx, s); err != nil {
			return err
		}
		abortHooks(st, "stopped: the restore deadline passed")
		return c.finish(ctx, s)
	}
	c.requeueForDeadline(s)

	// The target matters until the restore Jobs exist; after that every
	// progress report of a restore executor would otherwise cost a GET
	// of it.
	if !status.IsTrue(st, corev1alpha1.TypeRestoreExecutorEnsured) {
		if found, err := c.findTarget(ctx, s); err != nil || !found {
			return err
		}
	}
	if err := c.selectComponents(s); err != nil {
		return err
	}
	if err := c.pauseBackups(ctx, s); err != nil {
		return err
	}
	initHookStatus(s.rs)
	if done, err := c.runHooks(ctx, s, preRestore); err != nil || !done {
		return err
	}
	if status.IsFalse(st, corev1alpha1.TypePreRestoreHooksExecutionSucceeded) {
		// A failed pre-restore hook skips the restore.
		return c.afterRestoreJobs(ctx, s)
	}
	ensured, err := c.ensureRestoreJobs(ctx, s)
	if err != nil {
		return err
	}
	if !ensured {
		// The restore Jobs cannot be made: the restore ends now (a
		// False condition) or the next sync retries.
		if status.IsFalse(st, corev1alpha1.TypeRestoreExecutorEnsured) {
			return c.afterRestoreJobs(ctx, s)
		}
		return nil
	}
	running, err := c.watchRestoreJobs(ctx, s)
	if err != nil {
		return err
	}
	if restoreEnded(st, running) {
		return c.afterRestoreJobs(ctx, s)
	}
	return nil
}

// errStaleCache asks for a retry when the cached RestoreSession is older
// than the API's: a decision about components must see what the restore
// executors last wrote.
var errStaleCache = errors.New("cached RestoreSession is behind the API server; retrying")

// checkFresh returns errStaleCache unless the sync's copy of the
// RestoreSession is the API server's latest. A decision with effects a
// status write cannot undo (a component declared incomplete, a hook's
// request sent) is taken only on the latest copy, so the status write that
// records it does not fail on a conflict, and the effect is not repeated.
func (c *Controller) checkFresh(ctx context.Context, s *restoreState) error {
	latest, err := c.client.CoreV1alpha1().RestoreSessions(s.rs.Namespace).Get(ctx, s.rs.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if latest.ResourceVersion != s.rs.ResourceVersion {
		return errStaleCache
	}
	return nil
}

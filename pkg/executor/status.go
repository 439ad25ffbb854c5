package executor

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	corev1alpha1ac "github.com/restore-controller/restore/pkg/generated/applyconfiguration/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/pkg/invocation"
)

// StatusWriter server-side-applies status.components[Component] of one
// RestoreSession, and nothing else. Its field manager is the component's
// (invocation.FieldManagerForComponent), so executors of different
// components own disjoint map entries and never clobber each other, and
// the controller's fields are untouched. Force takes the entry back from a
// previous executor of the same component (a retried Job).
type StatusWriter struct {
	Client    versioned.Interface
	Namespace string
	Name      string
	Component string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Manifests, when a restore of Kubernetes objects sets it, goes into
	// the component's final status.
	Manifests *corev1alpha1ac.ManifestRestoreCountsApplyConfiguration
	// Plan and Verification, when a restore sets them (a dry run, a space
	// check that walked the tree, a verified restore), go into the
	// component's status.
	Plan         *engine.Plan
	Verification *engine.Verification
}

func (w *StatusWriter) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *StatusWriter) apply(ctx context.Context, cs *corev1alpha1ac.ComponentRestoreStatusApplyConfiguration) error {
	ac := corev1alpha1ac.RestoreSession(w.Name, w.Namespace).WithStatus(
		corev1alpha1ac.RestoreSessionStatus().WithComponents(map[string]corev1alpha1ac.ComponentRestoreStatusApplyConfiguration{w.Component: *cs}))
	_, err := w.Client.CoreV1alpha1().RestoreSessions(w.Namespace).ApplyStatus(ctx, ac, metav1.ApplyOptions{
		FieldManager: invocation.FieldManagerForComponent(w.Component),
		Force:        true,
	})
	if err != nil {
		return fmt.Errorf("applying status of component %q to RestoreSession %s/%s: %w", w.Component, w.Namespace, w.Name, err)
	}
	return nil
}

func (w *StatusWriter) progress(p *engine.Progress) *corev1alpha1ac.RestoreProgressApplyConfiguration {
	if p == nil {
		return nil
	}
	pa := corev1alpha1ac.RestoreProgress().
		WithTotalBytes(p.TotalBytes).WithRestoredBytes(p.RestoredBytes).
		WithTotalFiles(p.TotalFiles).WithRestoredFiles(p.RestoredFiles).
		WithPercentage(p.Percentage()).
		WithSpeed(FormatBytes(int64(p.BytesPerSecond)) + "/s").
		WithLastUpdateTime(metav1.NewTime(w.now()))
	if p.ETA >= 0 {
		pa.WithETA(formatDuration(p.ETA))
	}
	return pa
}

// Running reports the component as Running, with progress when known.
func (w *StatusWriter) Running(ctx context.Context, p *engine.Progress) error {
	cs := corev1alpha1ac.ComponentRestoreStatus().WithPhase(corev1alpha1.RestoreRunning)
	if pa := w.progress(p); pa != nil {
		cs.WithProgress(pa)
	}
	w.withResults(cs)
	return w.apply(ctx, cs)
}

// Retrying keeps the component Running after an attempt failed with an
// error a retried Job may get past, and says so in its error.
func (w *StatusWriter) Retrying(ctx context.Context, p *engine.Progress, attemptErr error) error {
	cs := corev1alpha1ac.ComponentRestoreStatus().WithPhase(corev1alpha1.RestoreRunning).
		WithError("attempt failed, the restore Job retries and resumes: " + attemptErr.Error())
	if pa := w.progress(p); pa != nil {
		cs.WithProgress(pa)
	}
	w.withResults(cs)
	return w.apply(ctx, cs)
}

// Finished reports Succeeded (restoreErr nil) or Failed with the error,
// with the duration and the last progress.
func (w *StatusWriter) Finished(ctx context.Context, duration time.Duration, p *engine.Progress, restoreErr error) error {
	cs := corev1alpha1ac.ComponentRestoreStatus().WithDuration(formatDuration(duration))
	if restoreErr != nil {
		cs.WithPhase(corev1alpha1.RestoreFailed).WithError(restoreErr.Error())
	} else {
		cs.WithPhase(corev1alpha1.RestoreSucceeded)
	}
	if pa := w.progress(p); pa != nil {
		cs.WithProgress(pa)
	}
	w.withResults(cs)
	return w.apply(ctx, cs)
}

// withResults adds what the restore found besides progress: manifest
// counts, the plan, the verification.
func (w *StatusWriter) withResults(cs *corev1alpha1ac.ComponentRestoreStatusApplyConfiguration) {
	if w.Manifests != nil {
		cs.WithManifests(w.Manifests)
	}
	if p := w.Plan; p != nil {
		pa := corev1alpha1ac.RestorePlan().
			WithFiles(p.Files).WithDirectories(p.Dirs).WithSymlinks(p.Symlinks).WithBytes(p.Bytes).
			WithOverwrittenFiles(p.OverwrittenFiles).WithKeptFiles(p.KeptFiles).WithKeptBytes(p.KeptBytes).
			WithDeletedEntries(p.DeletedEntries)
		for _, v := range p.Volumes {
			pa.WithVolumes(corev1alpha1ac.RestorePlanVolume().
				WithPath(v.Path).WithFreeBytes(v.Free).WithNeededBytes(v.Needed).WithFits(v.Needed <= v.Free))
		}
		cs.WithPlan(pa)
	}
	if v := w.Verification; v != nil {
		cs.WithVerification(corev1alpha1ac.RestoreVerification().
			WithFiles(v.Files).WithBytes(v.Bytes).WithSymlinks(v.Symlinks).
			WithMismatches(v.Mismatches).WithFirstMismatches(v.FirstMismatches...))
	}
}

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// ensureFinalizer adds FinalizerRestore before the controller changes
// anything that garbage collection cannot undo (a paused backup, a Role in
// another namespace). Objects in the RestoreSession's namespace are owned by
// it and need no finalizer.
func (c *Controller) ensureFinalizer(ctx context.Context, s *restoreState) error {
	if slices.Contains(s.rs.Finalizers, FinalizerRestore) {
		return nil
	}
	updated, err := c.patchFinalizers(ctx, s.rs, append(slices.Clone(s.rs.Finalizers), FinalizerRestore))
	if err != nil {
		return err
	}
	// The status update at the end of the sync must carry the new
	// resourceVersion, or it conflicts with this patch.
	s.rs.Finalizers = updated.Finalizers
	s.rs.ResourceVersion = updated.ResourceVersion
	return nil
}

// release undoes what a restore changed outside the objects it owns: it
// resumes the backups it paused and revokes its grants in other
// namespaces. The finish step runs it when the restore ends, cleanUp again
// before it removes the finalizer; it is safe to repeat.
func (c *Controller) release(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	if _, err := c.resumeBackups(ctx, rs); err != nil {
		return err
	}
	return c.revokeForeignGrants(ctx, rs)
}

// cleanUp runs once a restore has finished and when its RestoreSession is
// deleted (its Jobs and other owned objects are garbage-collected): it
// releases what the finalizer guards (see release), then removes the
// finalizer. Without the finalizer it does nothing: the finalizer is added
// before anything it guards is changed.
func (c *Controller) cleanUp(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	if !slices.Contains(rs.Finalizers, FinalizerRestore) {
		return nil
	}
	if err := c.release(ctx, rs); err != nil {
		return err
	}
	remaining := slices.DeleteFunc(slices.Clone(rs.Finalizers), func(f string) bool { return f == FinalizerRestore })
	if _, err := c.patchFinalizers(ctx, rs, remaining); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Released what the restore held and removed the finalizer")
	return nil
}

// patchFinalizers replaces metadata.finalizers, guarded by resourceVersion
// so a concurrent change of the list is never overwritten.
func (c *Controller) patchFinalizers(ctx context.Context, rs *corev1alpha1.RestoreSession, finalizers []string) (*corev1alpha1.RestoreSession, error) {
	if finalizers == nil {
		finalizers = []string{}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": rs.ResourceVersion},
	})
	if err != nil {
		return nil, err
	}
	updated, err := c.client.CoreV1alpha1().RestoreSessions(rs.Namespace).Patch(ctx, rs.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: ControllerName})
	if err != nil {
		return nil, fmt.Errorf("updating finalizers: %w", err)
	}
	return updated, nil
}

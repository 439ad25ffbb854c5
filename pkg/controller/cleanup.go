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

// finalize runs when a RestoreSession is deleted: its Jobs and owned
// objects are garbage-collected; what lies outside them is released here.
func (c *Controller) finalize(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	return c.releaseResources(ctx, rs)
}

// releaseResources undoes what a restore changed outside its owned objects
// (paused backups, executor permissions in other namespaces), then removes
// the finalizer. It runs once a restore has finished and when it is deleted,
// and is a no-op without the finalizer: the finalizer is added before any
// such change is made.
func (c *Controller) releaseResources(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	if !slices.Contains(rs.Finalizers, FinalizerRestore) {
		return nil
	}
	if _, err := c.resumeBackups(ctx, rs); err != nil {
		return err
	}
	if err := c.deleteForeignPermissions(ctx, rs); err != nil {
		return err
	}
	remaining := slices.DeleteFunc(slices.Clone(rs.Finalizers), func(f string) bool { return f == FinalizerRestore })
	if _, err := c.patchFinalizers(ctx, rs, remaining); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Released resources and removed finalizer")
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

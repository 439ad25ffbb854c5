package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

// Step 4, pause backups: the target's BackupConfigurations are paused
// before any restore Job exists, and resumed when the restore ends (see
// release); records status.pausedBackups.

// pausedByValue is the AnnotationPausedBy value of a RestoreSession.
func pausedByValue(rs *corev1alpha1.RestoreSession) string {
	return rs.Namespace + "/" + rs.Name
}

// pauseBackups pauses every BackupConfiguration of the restore target before
// any restore Job exists, so no backup reads half-restored data, and lists
// them in status.pausedBackups (only on the API server's latest copy of the
// RestoreSession, see checkFresh). A BackupConfiguration created during the
// restore is paused when it appears. The pause is recorded on the
// BackupConfiguration itself (AnnotationPausedBy) in the same patch that
// pauses it, so a crash between the patch and the status write loses
// nothing: the next sync finds the annotation.
func (c *Controller) pauseBackups(ctx context.Context, s *restoreState) error {
	t := s.rs.Spec.Target
	if t == nil {
		return nil
	}
	all, err := c.backupConfigs.List(labels.Everything())
	if err != nil {
		return err
	}
	key := targetKey(t, s.rs.Namespace)
	mine := pausedByValue(s.rs)
	fresh := false
	var paused []common.TypedObjectReference
	for _, bc := range all {
		if bc.Spec.Target == nil || targetKey(bc.Spec.Target, bc.Namespace) != key {
			continue
		}
		if bc.Annotations[AnnotationPausedBy] != mine {
			if bc.Spec.Paused {
				// Paused by its owner or another restore: not ours to
				// resume.
				continue
			}
			// A stale copy may be of a restore that has ended since: its
			// pause would outlive it. Pause only on the latest copy.
			if !fresh {
				if err := c.checkFresh(ctx, s); err != nil {
					return err
				}
				fresh = true
			}
			if err := c.ensureFinalizer(ctx, s); err != nil {
				return err
			}
			if err := c.patchBackupPaused(ctx, bc, true, mine); err != nil {
				return err
			}
			klog.FromContext(ctx).Info("Paused backup of the restore target", "backupConfiguration", klog.KObj(bc))
			s.recordEvent(corev1.EventTypeNormal, EventReasonBackupPaused, fmt.Sprintf("Paused BackupConfiguration %s/%s until the restore ends.", bc.Namespace, bc.Name))
		}
		paused = append(paused, common.TypedObjectReference{
			APIGroup: corev1alpha1.SchemeGroupVersion.Group, Kind: "BackupConfiguration", Namespace: bc.Namespace, Name: bc.Name,
		})
	}
	slices.SortFunc(paused, func(a, b common.TypedObjectReference) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	// Entries stay listed after they are resumed: the list is the record of
	// what this restore paused.
	for _, p := range paused {
		if !slices.Contains(s.status().PausedBackups, p) {
			s.status().PausedBackups = append(s.status().PausedBackups, p)
		}
	}
	return nil
}

// resumeBackups resumes every BackupConfiguration this RestoreSession paused.
// It reads the API, not the cache, because it runs when the restore ends and
// on deletion, where a stale cache must not leave a backup paused.
func (c *Controller) resumeBackups(ctx context.Context, rs *corev1alpha1.RestoreSession) (int, error) {
	mine := pausedByValue(rs)
	resumed := 0
	namespaces := map[string]bool{refs.TargetNamespace(rs): true}
	for _, p := range rs.Status.PausedBackups {
		namespaces[p.Namespace] = true
	}
	for ns := range namespaces {
		list, err := c.client.CoreV1alpha1().BackupConfigurations(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return resumed, fmt.Errorf("listing BackupConfigurations to resume: %w", err)
		}
		for i := range list.Items {
			bc := &list.Items[i]
			if bc.Annotations[AnnotationPausedBy] != mine {
				continue
			}
			if err := c.patchBackupPaused(ctx, bc, false, mine); err != nil {
				return resumed, err
			}
			resumed++
			klog.FromContext(ctx).Info("Resumed backup", "backupConfiguration", klog.KObj(bc))
			c.recorder.Eventf(rs, corev1.EventTypeNormal, EventReasonBackupResumed, "Resumed BackupConfiguration %s/%s.", bc.Namespace, bc.Name)
		}
	}
	return resumed, nil
}

// patchBackupPaused sets spec.paused and the pause mark together. It is a
// merge patch of those two fields only: a BackupConfiguration carries
// KubeStash fields this controller does not model, and an Update would
// drop them.
func (c *Controller) patchBackupPaused(ctx context.Context, bc *corev1alpha1.BackupConfiguration, paused bool, by string) error {
	var mark any = by
	if !paused {
		mark = nil
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{AnnotationPausedBy: mark}},
		"spec":     map[string]any{"paused": paused},
	})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1alpha1().BackupConfigurations(bc.Namespace).Patch(ctx, bc.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: ControllerName})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("setting paused=%t on BackupConfiguration %s/%s: %w", paused, bc.Namespace, bc.Name, err)
	}
	return nil
}

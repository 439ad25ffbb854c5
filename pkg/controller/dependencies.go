package controller

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// loadDependencies reloads, on syncs after validation passed, the objects
// validation resolved. The Snapshot comes from status.dependencies, so a
// "latest" restore keeps the Snapshot it started with. Objects deleted since
// stay nil: the steps that need them report it.
func (c *Controller) loadDependencies(s *restoreState) error {
	rs := s.rs
	ns := dataSourceNamespace(rs)
	snapshotName := resolvedSnapshotName(rs)
	if snapshotName != "" {
		snap, err := c.snapshots.Snapshots(ns).Get(snapshotName)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil {
			s.snapshot = snap
		}
	}
	repoName := rs.Spec.DataSource.Repository
	if repoName == "" && s.snapshot != nil {
		repoName = s.snapshot.Spec.Repository
	}
	if repoName != "" {
		repo, err := c.repositories.Repositories(ns).Get(repoName)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil {
			s.repository = repo
			bsNamespace := repo.Spec.StorageRef.Namespace
			if bsNamespace == "" {
				bsNamespace = repo.Namespace
			}
			bs, err := c.backupStorages.BackupStorages(bsNamespace).Get(repo.Spec.StorageRef.Name)
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if err == nil {
				s.storage = bs
			}
		}
	}
	// Addon problems were reported by validation; a task whose Addon or
	// Function disappeared since is simply missing from s.tasks.
	_, _ = c.resolveAddon(s)
	return nil
}

// resolvedSnapshotName is the Snapshot validation settled on: the found
// Snapshot dependency, which for "latest" is the concrete Snapshot.
func resolvedSnapshotName(rs *corev1alpha1.RestoreSession) string {
	for _, d := range rs.Status.Dependencies {
		if d.Kind == "Snapshot" && d.Found {
			return d.Name
		}
	}
	if rs.Spec.DataSource.Snapshot != corev1alpha1.SnapshotLatest {
		return rs.Spec.DataSource.Snapshot
	}
	return ""
}

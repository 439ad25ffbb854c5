// Package v1alpha1 is the storage.kubestash.com/v1alpha1 API: where backups
// live (BackupStorage), the repositories in it (Repository) and the
// snapshots a restore reads (Snapshot).
//
// +k8s:deepcopy-gen=package
// +groupName=storage.kubestash.com
package v1alpha1

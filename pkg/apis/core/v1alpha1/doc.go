// Package v1alpha1 is the core.kubestash.com/v1alpha1 API: RestoreSession,
// HookTemplate and the part of BackupConfiguration that restores pause.
//
// +k8s:deepcopy-gen=package
// +groupName=core.kubestash.com
package v1alpha1

// Package v1alpha1 is the cluster-scoped addons.kubestash.com/v1alpha1 API:
// Addons list the restore tasks they offer, and Functions say which image
// and command run a task.
//
// +k8s:deepcopy-gen=package
// +groupName=addons.kubestash.com
package v1alpha1

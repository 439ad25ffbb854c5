// Package common holds the reference and policy types that the core,
// storage and addons API groups share: typed object references, namespace
// usage policies, parameter definitions and volume sources.
//
// +k8s:deepcopy-gen=package
package common

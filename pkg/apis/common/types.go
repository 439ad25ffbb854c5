package common

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TypedObjectReference points to an object of any kind, possibly in another
// namespace.
type TypedObjectReference struct {
	// APIGroup of the referent; empty for the core group.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`

	// Kind of the referent.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`

	// Namespace of the referent; empty for cluster-scoped objects or when it
	// defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ObjectReference points to an object of a known kind, possibly in another
// namespace. An empty namespace means the referrer's namespace.
type ObjectReference struct {
	// Namespace of the referent; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// FromNamespaces says which namespaces may use an object.
// +kubebuilder:validation:Enum=All;Same;Selector
type FromNamespaces string

const (
	// NamespacesFromAll allows every namespace.
	NamespacesFromAll FromNamespaces = "All"
	// NamespacesFromSame allows only the object's own namespace.
	NamespacesFromSame FromNamespaces = "Same"
	// NamespacesFromSelector allows the namespaces matching a label selector.
	NamespacesFromSelector FromNamespaces = "Selector"
)

// AllowedNamespaces selects the namespaces that may use an object.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.selector)",message="selector is required when from is Selector"
type AllowedNamespaces struct {
	// From selects the namespaces: All, Same (the default) or Selector.
	// +kubebuilder:default=Same
	// +optional
	From *FromNamespaces `json:"from,omitempty"`

	// Selector must match the labels of a namespace when From is Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// UsagePolicy says which namespaces may refer to an object.
type UsagePolicy struct {
	// AllowedNamespaces selects the namespaces that may use the object.
	// +optional
	AllowedNamespaces AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}

// ParameterDefinition declares a parameter that a task or hook accepts.
type ParameterDefinition struct {
	// Name of the parameter.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Usage explains what the parameter does.
	// +optional
	Usage string `json:"usage,omitempty"`

	// Required parameters must be given by the user when no default exists.
	// +optional
	Required bool `json:"required,omitempty"`

	// Default value used when the user gives none.
	// +optional
	Default string `json:"default,omitempty"`
}

// VolumeSource is a Kubernetes volume source, or a template for a
// PersistentVolumeClaim that is created for the Job that uses it.
type VolumeSource struct {
	corev1.VolumeSource `json:",inline"`

	// VolumeClaimTemplate is a template for a PersistentVolumeClaim created
	// for the Job and removed with it.
	// +optional
	VolumeClaimTemplate *corev1.PersistentVolumeClaimTemplate `json:"volumeClaimTemplate,omitempty"`
}

// NamedVolumeSource gives a VolumeSource a name, so that it can replace the
// volume of the same name in an Addon's volume template.
type NamedVolumeSource struct {
	// Name of the volume.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Source of the volume.
	// +optional
	Source *VolumeSource `json:"source,omitempty"`
}

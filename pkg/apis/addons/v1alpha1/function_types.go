package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=functions,singular=function,scope=Cluster,categories={kubestash}
// +kubebuilder:printcolumn:name="Image",type="string",JSONPath=".spec.image"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// Function is the container that runs a task: its image, command and args.
// Args may refer to variables as ${NAME}: the controller substitutes the
// namespace, RestoreSession, snapshot, component and task parameters.
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FunctionSpec `json:"spec"`
}

// FunctionSpec is a container image and how to run it.
type FunctionSpec struct {
	// Image of the container.
	// +kubebuilder:validation:MinLength=1
	// +required
	Image string `json:"image"`
	// Command overrides the image's entrypoint.
	// +optional
	Command []string `json:"command,omitempty"`
	// Args to the command.
	// +optional
	Args []string `json:"args,omitempty"`
	// WorkingDir of the container.
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// Ports the container exposes.
	// +optional
	Ports []corev1.ContainerPort `json:"ports,omitempty"`
	// VolumeMounts of the container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// VolumeDevices of the container.
	// +optional
	VolumeDevices []corev1.VolumeDevice `json:"volumeDevices,omitempty"`
	// Env of the container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// RuntimeSettings configure the container: resources, probes, security
	// context, nice and ionice, environment. The RestoreSession's
	// addon.jobTemplate and addon.containerRuntimeSettings take precedence.
	// +optional
	RuntimeSettings *corev1alpha1.ContainerRuntimeSettings `json:"runtimeSettings,omitempty"`
	// AvailableVersions lists the versions an image with variables (for
	// example an image tag of ${DB_VERSION}) may resolve to. It is accepted
	// for KubeStash compatibility and not read: the controller runs Image as
	// it is.
	// +optional
	AvailableVersions []string `json:"availableVersions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FunctionList is a list of Functions.
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}

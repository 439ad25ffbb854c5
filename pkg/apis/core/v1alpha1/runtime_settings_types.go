package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// RuntimeSettings configure a Job's pod and its main container.
type RuntimeSettings struct {
	// Pod configures the pod.
	// +optional
	Pod *PodRuntimeSettings `json:"pod,omitempty"`
	// Container configures the main container.
	// +optional
	Container *ContainerRuntimeSettings `json:"container,omitempty"`
}

// ContainerRuntimeSettings configure an executor container.
type ContainerRuntimeSettings struct {
	// Resources of the container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// LivenessProbe of the container.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`
	// ReadinessProbe of the container.
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`
	// Lifecycle hooks of the container.
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`
	// SecurityContext of the container.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
	// Nice sets the CPU scheduling priority of the executor process.
	// +optional
	Nice *NiceSettings `json:"nice,omitempty"`
	// IONice sets the I/O scheduling class and priority of the executor process.
	// +optional
	IONice *IONiceSettings `json:"ionice,omitempty"`
	// Env adds environment variables to the container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// EnvFrom adds environment variables from Secrets and ConfigMaps.
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`
}

// NiceSettings is the CPU scheduling priority of a process (nice(1)).
type NiceSettings struct {
	// Adjustment is the niceness, from -20 (most favourable) to 19.
	// +kubebuilder:validation:Minimum=-20
	// +kubebuilder:validation:Maximum=19
	// +optional
	Adjustment *int32 `json:"adjustment,omitempty"`
}

// IONiceSettings is the I/O scheduling of a process (ionice(1)).
type IONiceSettings struct {
	// Class is 1 (realtime), 2 (best-effort) or 3 (idle); 0 means none.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3
	// +optional
	Class *int32 `json:"class,omitempty"`
	// ClassData is the priority within the class, 0 (highest) to 7.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=7
	// +optional
	ClassData *int32 `json:"classData,omitempty"`
}

// PodRuntimeSettings configure a Job's pod.
type PodRuntimeSettings struct {
	// PodLabels are added to the pod.
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// PodAnnotations are added to the pod.
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
	// NodeSelector must match a node's labels for the pod to run there.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// ServiceAccountName runs the pod as this ServiceAccount instead of the
	// one the controller creates.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// ServiceAccountAnnotations are accepted and not used: the controller
	// creates no ServiceAccount per hook (see the README).
	// +optional
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	// AutomountServiceAccountToken says whether the token is mounted.
	// +optional
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
	// NodeName runs the pod on this node.
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// SecurityContext of the pod.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`
	// ImagePullSecrets used to pull the pod's images.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// Affinity of the pod.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// SchedulerName dispatches the pod.
	// +optional
	SchedulerName string `json:"schedulerName,omitempty"`
	// Tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// PriorityClassName of the pod.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// Priority of the pod.
	// +optional
	Priority *int32 `json:"priority,omitempty"`
	// ReadinessGates of the pod.
	// +optional
	ReadinessGates []corev1.PodReadinessGate `json:"readinessGates,omitempty"`
	// RuntimeClassName of the pod.
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`
	// EnableServiceLinks injects service environment variables.
	// +optional
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
	// TopologySpreadConstraints of the pod.
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// PartialObjectMeta is the metadata a template sets: labels and annotations.
type PartialObjectMeta struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PodTemplateSpec configures the pods of the restore Jobs.
type PodTemplateSpec struct {
	// Metadata is added to the pods.
	// +optional
	Metadata PartialObjectMeta `json:"metadata,omitempty"`
	// Controller metadata is added to the Jobs.
	// +optional
	Controller PartialObjectMeta `json:"controller,omitempty"`
	// Spec configures the pods.
	// +optional
	Spec PodSpec `json:"spec,omitempty"`
}

// PodSpec is the part of a pod spec a restore Job takes from its template.
// The container fields (args, env, resources, probes, lifecycle,
// containerSecurityContext, volumeMounts) apply to the executor container.
type PodSpec struct {
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// +optional
	DNSPolicy corev1.DNSPolicy `json:"dnsPolicy,omitempty"`
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// +optional
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// +optional
	HostPID bool `json:"hostPID,omitempty"`
	// +optional
	HostIPC bool `json:"hostIPC,omitempty"`
	// +optional
	ShareProcessNamespace *bool `json:"shareProcessNamespace,omitempty"`
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// +optional
	SchedulerName string `json:"schedulerName,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// +optional
	Priority *int32 `json:"priority,omitempty"`
	// +optional
	DNSConfig *corev1.PodDNSConfig `json:"dnsConfig,omitempty"`
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`
	// +optional
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// PodPlacementPolicy names a KubeStash PlacementPolicy; accepted and
	// not used (see the README).
	// +optional
	PodPlacementPolicy *corev1.LocalObjectReference `json:"podPlacementPolicy,omitempty"`
	// Args replace the executor container's arguments.
	// +optional
	Args []string `json:"args,omitempty"`
	// Env adds environment variables to the executor container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// Resources of the executor container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`
	// ContainerSecurityContext of the executor container.
	// +optional
	ContainerSecurityContext *corev1.SecurityContext `json:"containerSecurityContext,omitempty"`
	// VolumeMounts added to the executor container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
}

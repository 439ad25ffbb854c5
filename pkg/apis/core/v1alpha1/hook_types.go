package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// HookInfo is one restore hook: a HookTemplate and how to run it.
type HookInfo struct {
	// Name of the hook, unique within its list.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`

	// HookTemplate to run. It may be in another namespace if its usagePolicy
	// allows the RestoreSession's namespace.
	// +required
	HookTemplate common.ObjectReference `json:"hookTemplate"`

	// Params are the hook's parameters, as the HookTemplate defines them.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Params *runtime.RawExtension `json:"params,omitempty"`

	// MaxRetry is how many times a failed hook is retried; 0 means no retry.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxRetry int32 `json:"maxRetry,omitempty"`

	// Timeout bounds each attempt: a number of seconds or a duration such as
	// "2m". An attempt that runs longer fails and is retried per MaxRetry.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self > 0 : (self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s'))",message="timeout must be a positive number of seconds or a positive duration such as 30s"
	// +optional
	Timeout *intstr.IntOrString `json:"timeout,omitempty"`

	// ExecutionPolicy says when a post-restore hook runs: Always (the
	// default), OnSuccess or OnFailure of the restore.
	// +kubebuilder:default=Always
	// +optional
	ExecutionPolicy HookExecutionPolicy `json:"executionPolicy,omitempty"`

	// Variables are resolved like container environment variables and can be
	// referred to as ${NAME} in the HookTemplate.
	// +listType=map
	// +listMapKey=name
	// +optional
	Variables []corev1.EnvVar `json:"variables,omitempty"`

	// Volumes of the target to mount into a Function hook's Job.
	// +listType=map
	// +listMapKey=name
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts mount Volumes into a Function hook's container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// RuntimeSettings configure a Function hook's Job.
	// +optional
	RuntimeSettings *RuntimeSettings `json:"runtimeSettings,omitempty"`
}

// HookExecutionPolicy says when a hook runs.
// +kubebuilder:validation:Enum=Always;OnSuccess;OnFailure
type HookExecutionPolicy string

const (
	ExecuteAlways    HookExecutionPolicy = "Always"
	ExecuteOnSuccess HookExecutionPolicy = "OnSuccess"
	ExecuteOnFailure HookExecutionPolicy = "OnFailure"
)

// HookExecutionStatus is the state of one hook.
type HookExecutionStatus struct {
	// Name of the hook.
	Name string `json:"name"`
	// Phase of the hook's execution.
	// +optional
	Phase HookExecutionPhase `json:"phase,omitempty"`
	// Attempts is how many times the hook has been started: 1 for the
	// first run, plus one per retry.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// Message says why the last attempt failed, or why the hook was
	// skipped.
	// +optional
	Message string `json:"message,omitempty"`
}

// HookExecutionPhase is the state of a hook's execution. Skipped means its
// execution policy did not match the restore's outcome.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped
type HookExecutionPhase string

const (
	HookExecutionPending   HookExecutionPhase = "Pending"
	HookExecutionRunning   HookExecutionPhase = "Running"
	HookExecutionSucceeded HookExecutionPhase = "Succeeded"
	HookExecutionFailed    HookExecutionPhase = "Failed"
	HookExecutionSkipped   HookExecutionPhase = "Skipped"
)

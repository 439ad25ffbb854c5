package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=addons,singular=addon,scope=Cluster,categories={kubestash}
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// Addon is a catalog entry: the backup and restore tasks available for a
// kind of application.
type Addon struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec AddonSpec `json:"spec,omitempty"`
}

// AddonSpec lists an Addon's tasks.
type AddonSpec struct {
	// BackupTasks are the tasks that back up the application.
	// +listType=map
	// +listMapKey=name
	// +optional
	BackupTasks []Task `json:"backupTasks,omitempty"`

	// RestoreTasks are the tasks that restore the application.
	// +listType=map
	// +listMapKey=name
	// +optional
	RestoreTasks []Task `json:"restoreTasks,omitempty"`
}

// TaskExecutor is how a task runs.
// +kubebuilder:validation:Enum=Job;Sidecar;EphemeralContainer;MultiLevelJob
type TaskExecutor string

const (
	ExecutorJob                TaskExecutor = "Job"
	ExecutorSidecar            TaskExecutor = "Sidecar"
	ExecutorEphemeralContainer TaskExecutor = "EphemeralContainer"
	ExecutorMultiLevelJob      TaskExecutor = "MultiLevelJob"
)

// Task is one backup or restore task of an Addon.
type Task struct {
	// Name of the task.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// Function that runs the task.
	// +kubebuilder:validation:MinLength=1
	// +required
	Function string `json:"function"`

	// Driver is the tool the task uses, e.g. Kopia.
	// +optional
	Driver string `json:"driver,omitempty"`

	// Executor is how the task runs; restores run as Jobs.
	// +kubebuilder:default=Job
	// +optional
	Executor TaskExecutor `json:"executor,omitempty"`

	// Singleton tasks run once for the whole target instead of once per
	// component.
	// +optional
	Singleton bool `json:"singleton,omitempty"`

	// Parameters the task accepts.
	// +listType=map
	// +listMapKey=name
	// +optional
	Parameters []common.ParameterDefinition `json:"parameters,omitempty"`

	// VolumeTemplate are volumes the task's Job gets; a RestoreSession's
	// addonVolumes can replace their sources.
	// +listType=map
	// +listMapKey=name
	// +optional
	VolumeTemplate []VolumeTemplate `json:"volumeTemplate,omitempty"`

	// VolumeMounts mount VolumeTemplate volumes into the task's container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// PassThroughMounts are target volumes mounted into the container as is.
	// +optional
	PassThroughMounts []corev1.VolumeMount `json:"passThroughMounts,omitempty"`
}

// VolumeTemplate is a volume of a task's Job.
type VolumeTemplate struct {
	// Name of the volume.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Usage explains what the volume is for.
	// +optional
	Usage string `json:"usage,omitempty"`
	// Source of the volume.
	// +optional
	Source *common.VolumeSource `json:"source,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AddonList is a list of Addons.
type AddonList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Addon `json:"items"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=backupconfigurations,singular=backupconfiguration,categories={kubestash}
// +kubebuilder:printcolumn:name="Paused",type="boolean",JSONPath=".spec.paused"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// BackupConfiguration schedules backups of a target. This project reads only
// the target and pauses or resumes it around a restore; every other field of
// a KubeStash BackupConfiguration is kept as written. Because this Go type
// drops those fields, change a BackupConfiguration only with a patch of
// spec.paused, never with an update of the whole object.
type BackupConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec BackupConfigurationSpec `json:"spec,omitempty"`
	// +optional
	Status BackupConfigurationStatus `json:"status,omitempty"`
}

// BackupConfigurationSpec is the part of a backup schedule a restore uses.
// +kubebuilder:pruning:PreserveUnknownFields
type BackupConfigurationSpec struct {
	// Target is the application that is backed up.
	// +optional
	Target *common.TypedObjectReference `json:"target,omitempty"`

	// Paused stops new backups while true.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// BackupConfigurationStatus is kept as the backup operator writes it.
// +kubebuilder:pruning:PreserveUnknownFields
type BackupConfigurationStatus struct {
	// +optional
	Phase string `json:"phase,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationList is a list of BackupConfigurations.
type BackupConfigurationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupConfiguration `json:"items"`
}

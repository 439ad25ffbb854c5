package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=hooktemplates,singular=hooktemplate,categories={kubestash}
// +kubebuilder:printcolumn:name="Executor",type="string",JSONPath=".spec.executor.type"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// HookTemplate is an action that backups and restores can run as a hook.
type HookTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec HookTemplateSpec `json:"spec,omitempty"`
}

// HookTemplateSpec is the action of a hook and where it runs.
// +kubebuilder:validation:XValidation:rule="!has(self.executor) || self.executor.type != 'Operator' || !has(self.action) || !has(self.action.exec)",message="spec.action.exec cannot run with the Operator executor: use httpGet, httpPost or tcpSocket, or the Pod executor"
// +kubebuilder:validation:XValidation:rule="!has(self.executor) || self.executor.type == 'Function' || has(self.action)",message="spec.action is required for the Pod and Operator executors"
type HookTemplateSpec struct {
	// UsagePolicy says which namespaces may use this template.
	// +optional
	UsagePolicy *common.UsagePolicy `json:"usagePolicy,omitempty"`

	// Params declares the parameters of the hook.
	// +listType=map
	// +listMapKey=name
	// +optional
	Params []common.ParameterDefinition `json:"params,omitempty"`

	// Action is what the hook does.
	// +optional
	Action *HookAction `json:"action,omitempty"`

	// Executor says where the action runs.
	// +optional
	Executor *HookExecutor `json:"executor,omitempty"`
}

// HookAction is exactly one of exec, httpGet, httpPost or tcpSocket.
// +kubebuilder:validation:XValidation:rule="[has(self.exec), has(self.httpGet), has(self.httpPost), has(self.tcpSocket)].filter(x, x).size() == 1",message="exactly one of exec, httpGet, httpPost or tcpSocket must be set"
type HookAction struct {
	// Exec runs a command in the selected pod's container.
	// +optional
	Exec *corev1.ExecAction `json:"exec,omitempty"`
	// HTTPGet sends a GET request; a final 2xx status is success. Redirects
	// are followed only within the same scheme, host and port.
	// +optional
	HTTPGet *corev1.HTTPGetAction `json:"httpGet,omitempty"`
	// HTTPPost sends a POST request; a final 2xx status is success.
	// Redirects are followed only within the same scheme, host and port.
	// +optional
	HTTPPost *HTTPPostAction `json:"httpPost,omitempty"`
	// TCPSocket succeeds when a TCP connection opens.
	// +optional
	TCPSocket *corev1.TCPSocketAction `json:"tcpSocket,omitempty"`
	// ContainerName is the container that Exec runs in; defaults to the
	// pod's first container.
	// +optional
	ContainerName string `json:"containerName,omitempty"`
}

// HTTPPostAction is an HTTP POST request.
type HTTPPostAction struct {
	// Path to request.
	// +optional
	Path string `json:"path,omitempty"`
	// Port to connect to: a number or a named container port.
	Port intstr.IntOrString `json:"port"`
	// Host to connect to; defaults to the pod IP for the Pod executor.
	// +optional
	Host string `json:"host,omitempty"`
	// Scheme is HTTP (the default) or HTTPS.
	// +optional
	Scheme corev1.URIScheme `json:"scheme,omitempty"`
	// HTTPHeaders are added to the request.
	// +optional
	HTTPHeaders []corev1.HTTPHeader `json:"httpHeaders,omitempty"`
	// Body of the request.
	// +optional
	Body string `json:"body,omitempty"`
	// Form is sent as application/x-www-form-urlencoded when Body is empty.
	// +optional
	Form []FormEntry `json:"form,omitempty"`
}

// FormEntry is one form field.
type FormEntry struct {
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	Values []string `json:"values,omitempty"`
}

// HookExecutorType says where a hook's action runs.
// +kubebuilder:validation:Enum=Function;Pod;Operator
type HookExecutorType string

const (
	// HookExecutorFunction runs the hook as a Job of a Function's image.
	HookExecutorFunction HookExecutorType = "Function"
	// HookExecutorPod runs the action in the target's pods.
	HookExecutorPod HookExecutorType = "Pod"
	// HookExecutorOperator has the controller perform the action itself.
	HookExecutorOperator HookExecutorType = "Operator"
)

// HookExecutor says where a hook's action runs.
// +kubebuilder:validation:XValidation:rule="self.type != 'Function' || has(self.function)",message="spec.executor.function is required when spec.executor.type is Function"
// +kubebuilder:validation:XValidation:rule="self.type != 'Pod' || has(self.pod)",message="spec.executor.pod is required when spec.executor.type is Pod"
type HookExecutor struct {
	// Type of the executor.
	// +required
	Type HookExecutorType `json:"type"`
	// Function runs the hook as a Job.
	// +optional
	Function *FunctionHookExecutorSpec `json:"function,omitempty"`
	// Pod selects the pods the action runs in.
	// +optional
	Pod *PodHookExecutorSpec `json:"pod,omitempty"`
}

// FunctionHookExecutorSpec runs a hook as a Job of an addons Function.
type FunctionHookExecutorSpec struct {
	// Name of the Function.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Env of the hook container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// VolumeMounts of the hook container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// Volumes of the hook Job.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
}

// PodHookExecutionStrategy says in how many selected pods a hook runs.
// +kubebuilder:validation:Enum=ExecuteOnOne;ExecuteOnAll
type PodHookExecutionStrategy string

const (
	ExecuteOnOne PodHookExecutionStrategy = "ExecuteOnOne"
	ExecuteOnAll PodHookExecutionStrategy = "ExecuteOnAll"
)

// PodHookExecutorSpec selects the pods a hook's action runs in.
type PodHookExecutorSpec struct {
	// Selector is a label selector, e.g. "app=db", over the pods in the
	// target's namespace; empty selects the target's own pods.
	// +optional
	Selector string `json:"selector,omitempty"`
	// Owner keeps only the selected pods owned by this object, directly or
	// through a ReplicaSet (for a Deployment owner). apiVersion's group,
	// kind and name must match; uid too when set.
	// +optional
	Owner *PodOwnerReference `json:"owner,omitempty"`
	// Strategy runs the action in one selected pod (the default) or all.
	// +kubebuilder:default=ExecuteOnOne
	// +optional
	Strategy PodHookExecutionStrategy `json:"strategy,omitempty"`
}

// PodOwnerReference is KubeStash's owner filter of a Pod executor, shaped
// like an ownerReference; uid is optional (KubeStash's docs omit it).
type PodOwnerReference struct {
	// APIVersion of the owner, e.g. apps/v1.
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the owner.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the owner.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// UID of the owner.
	// +optional
	UID types.UID `json:"uid,omitempty"`
	// Controller is accepted and not used.
	// +optional
	Controller *bool `json:"controller,omitempty"`
	// BlockOwnerDeletion is accepted and not used.
	// +optional
	BlockOwnerDeletion *bool `json:"blockOwnerDeletion,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// HookTemplateList is a list of HookTemplates.
type HookTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HookTemplate `json:"items"`
}

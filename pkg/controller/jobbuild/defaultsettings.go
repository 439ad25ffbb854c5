package jobbuild

import (
	"reflect"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// Restore Jobs take runtime settings from three places, in increasing
// precedence:
//
//  1. the BackupStorage's spec.runtimeSettings (pod and container), which
//     KubeStash applies to every Job that reads the storage;
//  2. the Function's spec.runtimeSettings (container);
//  3. the RestoreSession's spec.addon.jobTemplate and
//     spec.addon.containerRuntimeSettings.
//
// The first two are defaults: they fill only what the RestoreSession leaves
// unset. This file computes them; build lays them under the job template
// (jobInput.PodDefaults, containerInput.Defaults) before the
// RestoreSession's runtime settings are laid over it.

// storagePodDefaults are the storage's pod runtime settings, or nil.
func storagePodDefaults(bs *storagev1alpha1.BackupStorage) *corev1alpha1.PodRuntimeSettings {
	if rt := storageRuntimeSettings(bs); rt != nil {
		return rt.Pod
	}
	return nil
}

// storageRuntimeSettings are the runtime settings of the storage the
// restore reads, or nil.
func storageRuntimeSettings(bs *storagev1alpha1.BackupStorage) *corev1alpha1.RuntimeSettings {
	if bs == nil {
		return nil
	}
	return bs.Spec.RuntimeSettings
}

// StorageServiceAccount is the service account the storage's pod settings
// name for its Jobs, or "". The caller picks the Jobs' service account
// with it: the storage's pod settings are otherwise laid under the Job by
// build, where its serviceAccountName would be one setting among others.
func StorageServiceAccount(bs *storagev1alpha1.BackupStorage) string {
	if rt := storageRuntimeSettings(bs); rt != nil && rt.Pod != nil {
		return rt.Pod.ServiceAccountName
	}
	return ""
}

// containerDefaults merges the storage's container settings under the
// Function's: a setting the Function gives replaces the storage's;
// environment variables of both are kept, the Function's last. Nil when
// neither gives any.
func containerDefaults(bs *storagev1alpha1.BackupStorage, fn *addonsv1alpha1.Function) *corev1alpha1.ContainerRuntimeSettings {
	var lower, upper *corev1alpha1.ContainerRuntimeSettings
	if rt := storageRuntimeSettings(bs); rt != nil {
		lower = rt.Container
	}
	if fn != nil {
		upper = fn.Spec.RuntimeSettings
	}
	switch {
	case lower == nil && upper == nil:
		return nil
	case lower == nil:
		return upper.DeepCopy()
	case upper == nil:
		return lower.DeepCopy()
	}
	out := lower.DeepCopy()
	up := upper.DeepCopy()
	if up.Resources != nil {
		out.Resources = up.Resources
	}
	if up.LivenessProbe != nil {
		out.LivenessProbe = up.LivenessProbe
	}
	if up.ReadinessProbe != nil {
		out.ReadinessProbe = up.ReadinessProbe
	}
	if up.Lifecycle != nil {
		out.Lifecycle = up.Lifecycle
	}
	if up.SecurityContext != nil {
		out.SecurityContext = up.SecurityContext
	}
	if up.Nice != nil {
		out.Nice = up.Nice
	}
	if up.IONice != nil {
		out.IONice = up.IONice
	}
	out.Env = append(out.Env, up.Env...)
	out.EnvFrom = append(out.EnvFrom, up.EnvFrom...)
	return out
}

// fillContainerDefaults lays default container settings under a container
// built from the RestoreSession's job template: each setting is taken only
// where the container has none. over is the RestoreSession's
// containerRuntimeSettings, applied after this: nice and ionice it gives
// are left to it, so that each appears in the environment once. The
// defaults' env goes in with the container's other environment (see
// functionContainer); envFrom sources come first, so the container's own
// variables win.
func fillContainerDefaults(ctr *corev1.Container, def, over *corev1alpha1.ContainerRuntimeSettings) {
	if def == nil {
		return
	}
	if isZeroResources(ctr.Resources) && def.Resources != nil {
		ctr.Resources = *def.Resources.DeepCopy()
	}
	if ctr.LivenessProbe == nil {
		ctr.LivenessProbe = def.LivenessProbe
	}
	if ctr.ReadinessProbe == nil {
		ctr.ReadinessProbe = def.ReadinessProbe
	}
	if ctr.Lifecycle == nil {
		ctr.Lifecycle = def.Lifecycle
	}
	if ctr.SecurityContext == nil {
		ctr.SecurityContext = def.SecurityContext
	}
	if def.Nice != nil && def.Nice.Adjustment != nil && (over == nil || over.Nice == nil || over.Nice.Adjustment == nil) {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvNiceAdjustment, Value: strconv.Itoa(int(*def.Nice.Adjustment))})
	}
	if def.IONice != nil && (over == nil || over.IONice == nil) {
		if def.IONice.Class != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClass, Value: strconv.Itoa(int(*def.IONice.Class))})
		}
		if def.IONice.ClassData != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClassData, Value: strconv.Itoa(int(*def.IONice.ClassData))})
		}
	}
	ctr.EnvFrom = append(append([]corev1.EnvFromSource{}, def.EnvFrom...), ctr.EnvFrom...)
}

func isZeroResources(r corev1.ResourceRequirements) bool {
	return len(r.Limits) == 0 && len(r.Requests) == 0 && len(r.Claims) == 0
}

// layMode says how layPodSettings lays settings on a pod.
type layMode int

const (
	// fillUnset takes each setting only where the pod has none: the
	// storage's settings, defaults under the RestoreSession's.
	fillUnset layMode = iota
	// override replaces the pod's setting with each one given: the
	// RestoreSession's and a hook's runtime settings.
	override
)

// layPodSettings lays pod runtime settings on a pod, each field the same
// way (mode); labels and annotations are added under the pod's own either
// way. This is the one list of the pod settings a Job takes from runtime
// settings. (The Jobs' service account is always set by the caller, so a
// storage's serviceAccountName never fills it: see StorageServiceAccount.)
func layPodSettings(meta *metav1.ObjectMeta, spec *corev1.PodSpec, prs *corev1alpha1.PodRuntimeSettings, mode layMode) {
	if prs == nil {
		return
	}
	meta.Labels = merged(prs.PodLabels, meta.Labels)
	meta.Annotations = merged(prs.PodAnnotations, meta.Annotations)
	lay(&spec.NodeSelector, prs.NodeSelector, mode)
	lay(&spec.ServiceAccountName, prs.ServiceAccountName, mode)
	lay(&spec.AutomountServiceAccountToken, prs.AutomountServiceAccountToken, mode)
	lay(&spec.NodeName, prs.NodeName, mode)
	lay(&spec.SecurityContext, prs.SecurityContext, mode)
	lay(&spec.ImagePullSecrets, prs.ImagePullSecrets, mode)
	lay(&spec.Affinity, prs.Affinity, mode)
	lay(&spec.SchedulerName, prs.SchedulerName, mode)
	lay(&spec.Tolerations, prs.Tolerations, mode)
	lay(&spec.PriorityClassName, prs.PriorityClassName, mode)
	lay(&spec.Priority, prs.Priority, mode)
	lay(&spec.ReadinessGates, prs.ReadinessGates, mode)
	lay(&spec.RuntimeClassName, prs.RuntimeClassName, mode)
	lay(&spec.EnableServiceLinks, prs.EnableServiceLinks, mode)
	lay(&spec.TopologySpreadConstraints, prs.TopologySpreadConstraints, mode)
}

// lay sets *dst to a given (non-zero: non-nil, non-empty string) value v:
// always with override, only where *dst is zero with fillUnset.
func lay[T any](dst *T, v T, mode layMode) {
	if isZero(v) || (mode == fillUnset && !isZero(*dst)) {
		return
	}
	*dst = v
}

func isZero[T any](v T) bool {
	return reflect.ValueOf(&v).Elem().IsZero()
}

package jobbuild

import (
	"fmt"
	"maps"
	"math"
	"path"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// Meta is what the caller decides about a Job: its name, the labels and
// annotations of the Job and its pods (they win over the user's), and its
// controller reference.
type Meta struct {
	Name                string
	Labels, Annotations map[string]string
	Owner               metav1.OwnerReference
}

// jobInput is one Job of a RestoreSession, a restore Job or a hook Job, as
// build lays it together.
type jobInput struct {
	Meta
	// RestoreSession is the Job's: its namespace is the Job's, and its
	// status.restoreDeadline bounds the Job.
	RestoreSession *corev1alpha1.RestoreSession
	// Containers run in order, after the template's init containers: all
	// but the last as init containers.
	Containers []containerInput
	// Volumes are the pod's; the template's are added after them.
	Volumes []corev1.Volume
	// Template is spec.addon.jobTemplate (restore Jobs); nil for none.
	Template *corev1alpha1.PodTemplateSpec
	// ContainerSettings are laid over every container in Containers,
	// PodSettings over the pod.
	ContainerSettings *corev1alpha1.ContainerRuntimeSettings
	PodSettings       *corev1alpha1.PodRuntimeSettings
	// PodDefaults (the storage's pod settings, restore Jobs) fill what
	// the template leaves unset, under PodSettings (defaultsettings.go).
	PodDefaults      *corev1alpha1.PodRuntimeSettings
	ServiceAccount   string
	BackoffLimit     int32
	PodFailurePolicy *batchv1.PodFailurePolicy
	// PodDeadline, when positive, is the pod's activeDeadlineSeconds.
	PodDeadline time.Duration
	PodSecurity PodSecurity
	// Node, when set, is the node the pod must run on (pinToNode).
	Node string
	Now  time.Time
}

// containerInput is one container that runs an addon Function: the
// Function's image, command and args (with Variables substituted), its
// environment and mounts between the caller's.
type containerInput struct {
	Name      string
	Function  *addonsv1alpha1.Function
	Variables map[string]string
	// Env and Mounts come before the Function's, ExtraEnv and ExtraMounts
	// after them; the template's come last. The first mount of a path wins.
	Env, ExtraEnv       []corev1.EnvVar
	Mounts, ExtraMounts []corev1.VolumeMount
	// Ports are the container's ports.
	Ports []corev1.ContainerPort
	// Defaults (the storage's and the Function's container settings,
	// restore Jobs) fill what the template leaves unset, under the Job's
	// ContainerSettings; their env comes between Env and the Function's
	// (defaultsettings.go).
	Defaults *corev1alpha1.ContainerRuntimeSettings
	// AsRoot: outside restricted namespaces the container runs as root
	// unless the user chose its identity (see podsecurity.go).
	AsRoot bool
	// ErrorContext, when set, prefixes the container's errors.
	ErrorContext string
}

// build lays together, in this order and in this one place, what every
// Job of a RestoreSession is made of: the addon Function of each
// container, the caller's environment and mounts, the jobTemplate over
// the storage's and Function's runtime settings (defaults, see
// defaultsettings.go), the container and pod runtime settings, then the Job's ownership, labels,
// restart policy and deadlines, and the security defaults of the
// namespace's Pod Security level (podsecurity.go). A Job whose pods that
// level would reject is an error.
func build(in jobInput) (*batchv1.Job, error) {
	tpl := in.Template
	if tpl == nil {
		tpl = &corev1alpha1.PodTemplateSpec{}
	}
	var containers []corev1.Container
	asRoot := map[string]bool{}
	for _, ci := range in.Containers {
		ctr, err := functionContainer(ci, tpl)
		if err != nil {
			if ci.ErrorContext != "" {
				return nil, fmt.Errorf("%s: %w", ci.ErrorContext, err)
			}
			return nil, err
		}
		fillContainerDefaults(&ctr, ci.Defaults, in.ContainerSettings)
		applyContainerRuntimeSettings(&ctr, in.ContainerSettings)
		containers = append(containers, ctr)
		asRoot[ctr.Name] = ci.AsRoot
	}
	if len(containers) == 0 {
		return nil, fmt.Errorf("job %s has no container", in.Name)
	}
	var initContainers []corev1.Container
	initContainers = append(initContainers, tpl.Spec.InitContainers...)
	initContainers = append(initContainers, containers[:len(containers)-1]...)

	podMeta := metav1.ObjectMeta{
		Labels:      merged(tpl.Metadata.Labels, in.Labels),
		Annotations: merged(tpl.Metadata.Annotations, in.Annotations),
	}
	podSpec := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            in.ServiceAccount,
		Volumes:                       append(append([]corev1.Volume(nil), in.Volumes...), tpl.Spec.Volumes...),
		InitContainers:                initContainers,
		Containers:                    containers[len(containers)-1:],
		TerminationGracePeriodSeconds: tpl.Spec.TerminationGracePeriodSeconds,
		DNSPolicy:                     tpl.Spec.DNSPolicy,
		NodeSelector:                  tpl.Spec.NodeSelector,
		HostNetwork:                   tpl.Spec.HostNetwork,
		HostPID:                       tpl.Spec.HostPID,
		HostIPC:                       tpl.Spec.HostIPC,
		ShareProcessNamespace:         tpl.Spec.ShareProcessNamespace,
		SecurityContext:               tpl.Spec.SecurityContext,
		ImagePullSecrets:              tpl.Spec.ImagePullSecrets,
		Affinity:                      tpl.Spec.Affinity,
		SchedulerName:                 tpl.Spec.SchedulerName,
		Tolerations:                   tpl.Spec.Tolerations,
		PriorityClassName:             tpl.Spec.PriorityClassName,
		Priority:                      tpl.Spec.Priority,
		DNSConfig:                     tpl.Spec.DNSConfig,
		RuntimeClassName:              tpl.Spec.RuntimeClassName,
		EnableServiceLinks:            tpl.Spec.EnableServiceLinks,
		TopologySpreadConstraints:     tpl.Spec.TopologySpreadConstraints,
	}
	layPodSettings(&podMeta, &podSpec, in.PodDefaults, fillUnset)
	layPodSettings(&podMeta, &podSpec, in.PodSettings, override)
	if in.Node != "" {
		pinToNode(&podSpec, in.Node)
	}
	// The containers that restore data run as root where Pod Security
	// allows it, to restore file owners; the others as their images' users.
	in.PodSecurity.applySecurityDefaults(&podSpec, func(name string) bool { return asRoot[name] })
	if in.PodDeadline > 0 {
		podSpec.ActiveDeadlineSeconds = ptr.To(int64(math.Ceil(in.PodDeadline.Seconds())))
	}

	rs := in.RestoreSession
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            in.Name,
			Namespace:       rs.Namespace,
			Labels:          merged(tpl.Controller.Labels, in.Labels),
			Annotations:     merged(tpl.Controller.Annotations, in.Annotations),
			OwnerReferences: []metav1.OwnerReference{in.Owner},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:     ptr.To(in.BackoffLimit),
			PodFailurePolicy: in.PodFailurePolicy,
			Template:         corev1.PodTemplateSpec{ObjectMeta: podMeta, Spec: podSpec},
		},
	}
	// The Job controller enforces the restore deadline too, should this
	// controller be down when it passes.
	if d := rs.Status.RestoreDeadline; d != nil {
		remaining := math.Ceil(d.Sub(in.Now).Seconds())
		job.Spec.ActiveDeadlineSeconds = ptr.To(max(int64(remaining), 1))
	}
	if err := in.PodSecurity.admit(&job.Spec.Template); err != nil {
		return nil, err
	}
	return job, nil
}

// functionContainer is the container that runs an addon Function, with
// the template's container settings.
func functionContainer(ci containerInput, tpl *corev1alpha1.PodTemplateSpec) (corev1.Container, error) {
	fn := ci.Function.Spec
	what := fmt.Sprintf("Function %q", ci.Function.Name)
	command, err := invocation.SubstituteAll(fn.Command, ci.Variables, what+" command")
	if err != nil {
		return corev1.Container{}, err
	}
	args, err := invocation.SubstituteAll(fn.Args, ci.Variables, what+" args")
	if err != nil {
		return corev1.Container{}, err
	}
	args = append(args, tpl.Spec.Args...)

	var defaultEnv []corev1.EnvVar
	if ci.Defaults != nil {
		defaultEnv = ci.Defaults.Env
	}
	var env []corev1.EnvVar
	for _, part := range [][]corev1.EnvVar{ci.Env, defaultEnv, fn.Env, ci.ExtraEnv, tpl.Spec.Env} {
		env = append(env, part...)
	}
	var mounts []corev1.VolumeMount
	for _, part := range [][]corev1.VolumeMount{ci.Mounts, fn.VolumeMounts, ci.ExtraMounts, tpl.Spec.VolumeMounts} {
		mounts = append(mounts, part...)
	}
	return corev1.Container{
		Name:                     ci.Name,
		Image:                    fn.Image,
		Command:                  command,
		Args:                     args,
		WorkingDir:               fn.WorkingDir,
		Ports:                    ci.Ports,
		Env:                      env,
		VolumeMounts:             dedupeMounts(mounts),
		VolumeDevices:            fn.VolumeDevices,
		Resources:                ptr.Deref(tpl.Spec.Resources, corev1.ResourceRequirements{}),
		LivenessProbe:            tpl.Spec.LivenessProbe,
		ReadinessProbe:           tpl.Spec.ReadinessProbe,
		Lifecycle:                tpl.Spec.Lifecycle,
		SecurityContext:          tpl.Spec.ContainerSecurityContext,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}, nil
}

// applyContainerRuntimeSettings lays container runtime settings over a
// container: each setting given replaces the container's. nice and ionice
// travel as environment for the restore executor to apply to itself.
func applyContainerRuntimeSettings(ctr *corev1.Container, crs *corev1alpha1.ContainerRuntimeSettings) {
	if crs == nil {
		return
	}
	if crs.Resources != nil {
		ctr.Resources = *crs.Resources
	}
	if crs.LivenessProbe != nil {
		ctr.LivenessProbe = crs.LivenessProbe
	}
	if crs.ReadinessProbe != nil {
		ctr.ReadinessProbe = crs.ReadinessProbe
	}
	if crs.Lifecycle != nil {
		ctr.Lifecycle = crs.Lifecycle
	}
	if crs.SecurityContext != nil {
		ctr.SecurityContext = crs.SecurityContext
	}
	if crs.Nice != nil && crs.Nice.Adjustment != nil {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvNiceAdjustment, Value: strconv.Itoa(int(*crs.Nice.Adjustment))})
	}
	if crs.IONice != nil {
		if crs.IONice.Class != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClass, Value: strconv.Itoa(int(*crs.IONice.Class))})
		}
		if crs.IONice.ClassData != nil {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: invocation.EnvIONiceClassData, Value: strconv.Itoa(int(*crs.IONice.ClassData))})
		}
	}
	ctr.Env = append(ctr.Env, crs.Env...)
	ctr.EnvFrom = append(ctr.EnvFrom, crs.EnvFrom...)
}

// dedupeMounts drops later mounts at a path already mounted: the first
// mount of a path wins, so the controller's own mounts cannot be shadowed.
func dedupeMounts(mounts []corev1.VolumeMount) []corev1.VolumeMount {
	seen := map[string]bool{}
	var out []corev1.VolumeMount
	for _, m := range mounts {
		p := path.Clean(m.MountPath)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, m)
	}
	return out
}

// merged returns base overlaid with over; over's keys win.
func merged(base, over map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

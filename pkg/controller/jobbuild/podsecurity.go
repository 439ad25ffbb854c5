package jobbuild

// Pod Security of the Jobs the controller creates (restore Jobs and hook
// Jobs).
//
// The security context every such pod gets, under whatever the user set
// (jobTemplate.spec.securityContext and containerSecurityContext,
// containerRuntimeSettings.securityContext, a hook's runtimeSettings): a
// field the user set is kept, a field left unset gets the default below,
// field by field.
//
//   - In every namespace: the pod's seccompProfile is RuntimeDefault, and
//     every container (init containers too) has
//     allowPrivilegeEscalation: false (not for a container the user made
//     privileged or gave CAP_SYS_ADMIN, which the API forbids to combine
//     with it). Neither costs the restore executor anything.
//   - In a namespace that enforces Pod Security "restricted" (label
//     pod-security.kubernetes.io/enforce=restricted, or a value the API
//     server cannot parse, which it reads as restricted): the pod runs as
//     the distroless "nonroot" user of the restore executor image
//     (runAsNonRoot, runAsUser, runAsGroup and fsGroup 65532,
//     fsGroupChangePolicy OnRootMismatch, so that the target volume is
//     writable through its group), and every container drops all
//     capabilities. Restored files then belong to 65532 and the volume's
//     fsGroup: the restore executor ignores the permission errors of
//     restoring other owners.
//   - Elsewhere, the restore task containers run as root (runAsUser and
//     runAsGroup 0) with the runtime's default capabilities, so that the
//     restore executor restores file owners and modes exactly, unless the user
//     chose the identity (runAsUser, runAsGroup or runAsNonRoot in the pod's
//     or the container's security context). Hook containers run as their
//     image's user.
//
// Before any Job is created its pod template is evaluated, with the Pod
// Security admission library, against the level and version the
// namespace enforces: a Job whose pods would be rejected (the user's
// settings, an addon's volumes) fails the restore with the admission's own
// reasons instead of leaving a Job that never starts a pod. A local
// BackupStorage on a hostPath, which baseline and restricted forbid, gets a
// message of its own. Only the namespace's labels are seen: a cluster-wide
// default level set in the API server's admission configuration, and its
// exemptions, are not.

import (
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

// nonRootID is the user and group of the restore executor image (distroless
// "nonroot", build/Dockerfile), and the fsGroup of Jobs in a restricted
// namespace.
const nonRootID int64 = 65532

// PodSecurity is the Pod Security level a namespace enforces. The zero
// value enforces nothing.
type PodSecurity struct {
	namespace string
	enforce   psapi.LevelVersion
}

// PodSecurityOf reads the Pod Security level a namespace enforces from its
// labels, as the PodSecurity admission plugin does.
func PodSecurityOf(ns *corev1.Namespace) PodSecurity {
	privileged := psapi.LevelVersion{Level: psapi.LevelPrivileged, Version: psapi.LatestVersion()}
	// Invalid labels read as restricted:latest, as the admission does.
	policy, _ := psapi.PolicyToEvaluate(ns.Labels, psapi.Policy{Enforce: privileged, Audit: privileged, Warn: privileged})
	return PodSecurity{namespace: ns.Name, enforce: policy.Enforce}
}

// String is the enforced level and version, e.g. "restricted:latest".
func (p PodSecurity) String() string { return p.enforce.String() }

func (p PodSecurity) privileged() bool {
	return p.enforce.Level == "" || p.enforce.Level == psapi.LevelPrivileged
}

func (p PodSecurity) restricted() bool { return p.enforce.Level == psapi.LevelRestricted }

// CheckStorage fails for a local BackupStorage on a hostPath in a
// namespace whose level forbids hostPath volumes (baseline and
// restricted): every restore Job mounts it.
func (p PodSecurity) CheckStorage(bs *storagev1alpha1.BackupStorage) error {
	if p.privileged() || bs == nil || bs.Spec.Storage.Provider != storagev1alpha1.ProviderLocal ||
		bs.Spec.Storage.Local == nil || bs.Spec.Storage.Local.HostPath == nil {
		return nil
	}
	return fmt.Errorf("BackupStorage %s/%s is a local (hostPath) storage, which Pod Security %q in namespace %q forbids: "+
		"use an s3 BackupStorage (or a local one on a PersistentVolumeClaim) or relax the namespace's %s label",
		bs.Namespace, bs.Name, p.enforce.Level, p.namespace, psapi.EnforceLevelLabel)
}

var podSecurityEvaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// admit fails, with the admission's reasons, if the namespace's Pod
// Security would reject pods of the template.
func (p PodSecurity) admit(tpl *corev1.PodTemplateSpec) error {
	if p.privileged() {
		return nil
	}
	evaluator, err := podSecurityEvaluator()
	if err != nil {
		return fmt.Errorf("pod security checks: %w", err)
	}
	result := policy.AggregateCheckResults(evaluator.EvaluatePod(p.enforce, &tpl.ObjectMeta, &tpl.Spec))
	if result.Allowed {
		return nil
	}
	return &podSecurityViolation{fmt.Sprintf("its pods would violate PodSecurity %q of namespace %q: %s; change the offending settings or relax the namespace's %s label",
		p.enforce.String(), p.namespace, result.ForbiddenDetail(), psapi.EnforceLevelLabel)}
}

// podSecurityViolation is admit's refusal: the namespace's Pod Security
// would reject the Job's pods.
type podSecurityViolation struct{ msg string }

func (e *podSecurityViolation) Error() string { return e.msg }

// applySecurityDefaults lays the defaults described at the top of this
// file under the pod's security contexts. asRoot names the containers
// that run as root outside restricted namespaces (the restore tasks). The
// user's security contexts are copied, never changed.
func (p PodSecurity) applySecurityDefaults(spec *corev1.PodSpec, asRoot func(name string) bool) {
	userPod := spec.SecurityContext
	sc := userPod.DeepCopy()
	if sc == nil {
		sc = &corev1.PodSecurityContext{}
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	if p.restricted() {
		setDefault(&sc.RunAsNonRoot, true)
		setDefault(&sc.RunAsUser, nonRootID)
		setDefault(&sc.RunAsGroup, nonRootID)
		setDefault(&sc.FSGroup, nonRootID)
		setDefault(&sc.FSGroupChangePolicy, corev1.FSGroupChangeOnRootMismatch)
	}
	spec.SecurityContext = sc

	for _, ctrs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range ctrs {
			ctr := &ctrs[i]
			root := !p.restricted() && asRoot != nil && asRoot(ctr.Name) && !identityChosen(userPod, ctr.SecurityContext)
			ctr.SecurityContext = p.containerDefaults(ctr.SecurityContext, root)
		}
	}
}

// containerDefaults returns a copy of a container's security context with
// the defaults set.
func (p PodSecurity) containerDefaults(user *corev1.SecurityContext, root bool) *corev1.SecurityContext {
	sc := user.DeepCopy()
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if sc.AllowPrivilegeEscalation == nil && !ptr.Deref(sc.Privileged, false) && !addsSysAdmin(sc) {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	if p.restricted() {
		if sc.Capabilities == nil {
			sc.Capabilities = &corev1.Capabilities{}
		}
		if sc.Capabilities.Drop == nil {
			sc.Capabilities.Drop = []corev1.Capability{"ALL"}
		}
	}
	if root {
		setDefault(&sc.RunAsUser, 0)
		setDefault(&sc.RunAsGroup, 0)
	}
	return sc
}

// identityChosen reports whether the user set who a container runs as.
func identityChosen(pod *corev1.PodSecurityContext, ctr *corev1.SecurityContext) bool {
	if pod != nil && (pod.RunAsUser != nil || pod.RunAsGroup != nil || pod.RunAsNonRoot != nil) {
		return true
	}
	return ctr != nil && (ctr.RunAsUser != nil || ctr.RunAsGroup != nil || ctr.RunAsNonRoot != nil)
}

// addsSysAdmin reports whether the container adds CAP_SYS_ADMIN, with
// which the API refuses allowPrivilegeEscalation: false.
func addsSysAdmin(sc *corev1.SecurityContext) bool {
	return sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool {
		return c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN"
	})
}

func setDefault[T any](field **T, value T) {
	if *field == nil {
		*field = &value
	}
}

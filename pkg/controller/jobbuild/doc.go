// Package jobbuild builds the Jobs the controller creates for a
// RestoreSession: the restore Job of each component (RestoreJob), which
// runs the addon's restore tasks, and the Job of each attempt of a
// Function hook (HookJob). It also builds the target PVCs a restore Job's
// volumes come from when they do not exist yet (TargetClaims).
//
// Where a restore task writes (resolveTarget, volumes.go): the volumes and
// mounts its targetVolumes name, or by default a PVC target mounted at the
// snapshot's path, or, as KubeStash's workload addon does, the volumes a
// StatefulSet, Deployment or DaemonSet target mounts where it mounts them
// (workload.go), refused when they keep no data. Components are named as
// KubeStash names them (dump-pod-<ordinal>, dump, dump-<node>) or
// pod-<ordinal>.
//
// Both kinds of Job are laid together by one function, in one order: the
// addon Function of each container (image, command and args with the
// variables substituted), the caller's environment and mounts,
// spec.addon.jobTemplate over the storage's and the Function's runtime
// settings (defaults of restore Jobs, defaultsettings.go), the container
// and pod runtime settings, the
// Job's name, owner, labels and annotations (the caller's win over the
// user's), restart policy Never, the backoff limit, the restore deadline
// as activeDeadlineSeconds, and the security defaults of the namespace's
// Pod Security level, against which the pod template is then admitted
// (podsecurity.go).
//
// The package reads nothing and writes nothing: every function is a pure
// function of its input, a plain struct the controller fills from one
// sync. Every error it returns is a problem of that input, the user's
// settings or the objects they name, that no retry can fix.
package jobbuild

package jobbuild

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

// TestPodSecurityOf: the level is read from the namespace's labels as the
// admission reads it.
func TestPodSecurityOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"unlabelled", nil, "privileged:latest"},
		{"privileged", enforce("privileged"), "privileged:latest"},
		{"baseline", enforce("baseline"), "baseline:latest"},
		{"only warned and audited at restricted", map[string]string{psapi.WarnLevelLabel: "restricted", psapi.AuditLevelLabel: "restricted"}, "privileged:latest"},
		{"restricted", enforce("restricted"), "restricted:latest"},
		{"restricted at a pinned version", map[string]string{psapi.EnforceLevelLabel: "restricted", psapi.EnforceVersionLabel: "v1.25"}, "restricted:v1.25"},
		// The admission reads a level it cannot parse as restricted.
		{"invalid level", enforce("strict"), "restricted:latest"},
	} {
		if got := PodSecurityOf(namespace(tc.labels)).String(); got != tc.want {
			t.Errorf("%s: PodSecurityOf = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestRestoreJobPodSecurityByNamespace: the restore Job's security context
// follows the level the namespace enforces, and the Job of an S3 restore
// passes that level.
func TestRestoreJobPodSecurityByNamespace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		nonRoot bool
		level   psapi.Level // the level the Job must pass
	}{
		{"unlabelled", nil, false, psapi.LevelBaseline},
		{"privileged", enforce("privileged"), false, psapi.LevelBaseline},
		{"baseline", enforce("baseline"), false, psapi.LevelBaseline},
		{"restricted", enforce("restricted"), true, psapi.LevelRestricted},
		{"restricted at a pinned version", map[string]string{psapi.EnforceLevelLabel: "restricted", psapi.EnforceVersionLabel: "v1.25"}, true, psapi.LevelRestricted},
		{"invalid level", enforce("strict"), true, psapi.LevelRestricted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			in.Storage = s3BackupStorage()
			in.PodSecurity = PodSecurityOf(namespace(tc.labels))
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			expectAlways(t, job)
			admitted(t, job, tc.level)
			pod := job.Spec.Template.Spec
			ctr := pod.Containers[0]
			if tc.nonRoot {
				expectNonRoot(t, job)
				if ctr.SecurityContext.RunAsUser != nil {
					t.Errorf("container runAsUser = %d, want the pod's", *ctr.SecurityContext.RunAsUser)
				}
				return
			}
			// Root with the runtime's default capabilities, to restore
			// file owners; the pod itself chooses no user.
			if sc := ctr.SecurityContext; ptr.Deref(sc.RunAsUser, -1) != 0 || ptr.Deref(sc.RunAsGroup, -1) != 0 || sc.Capabilities != nil || sc.RunAsNonRoot != nil {
				t.Errorf("container securityContext = %+v, want root with default capabilities", sc)
			}
			if sc := pod.SecurityContext; sc.RunAsUser != nil || sc.RunAsNonRoot != nil || sc.FSGroup != nil {
				t.Errorf("pod securityContext = %+v, want no user", sc)
			}
		})
	}
}

// TestRestoreJobPodSecurityUserSettings: the user's security contexts win
// field by field over the defaults, and a Job whose pods the namespace's
// Pod Security would reject is an error with the admission's reasons.
func TestRestoreJobPodSecurityUserSettings(t *testing.T) {
	userPodSC := func(sc corev1.PodSecurityContext) func(*corev1alpha1.RestoreSession) {
		return func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{SecurityContext: &sc}}
		}
	}
	tests := []struct {
		name   string
		labels map[string]string
		edit   func(*corev1alpha1.RestoreSession)
		check  func(t *testing.T, job *batchv1.Job) // the Job is built
		failed []string                             // or building it fails with these fragments
	}{{
		name:   "restricted: the user's user, capabilities and init container kept, the rest defaulted",
		labels: enforce("restricted"),
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)},
				InitContainers:  []corev1.Container{{Name: "prepare", Image: "busybox"}},
			}}
			rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{
				ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities:           &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			}}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			sc := pod.SecurityContext
			if ptr.Deref(sc.RunAsUser, -1) != 1000 || ptr.Deref(sc.RunAsGroup, -1) != 65532 || ptr.Deref(sc.FSGroup, -1) != 65532 || !ptr.Deref(sc.RunAsNonRoot, false) {
				t.Errorf("pod securityContext = %+v, want the user's runAsUser and the defaults", sc)
			}
			if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != "prepare" {
				t.Fatalf("init containers = %+v", pod.InitContainers)
			}
			csc := pod.Containers[0].SecurityContext
			if !ptr.Deref(csc.ReadOnlyRootFilesystem, false) || !slices.Equal(csc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) ||
				!slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("container securityContext = %+v", csc)
			}
			expectAlways(t, job)
			admitted(t, job, psapi.LevelRestricted)
		},
	}, {
		name:   "unlabelled: the user's runAsNonRoot keeps the executor off root",
		labels: nil,
		edit:   userPodSC(corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}),
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if csc := pod.Containers[0].SecurityContext; csc.RunAsUser != nil || csc.RunAsGroup != nil {
				t.Errorf("container securityContext = %+v, want no user (the user asked for non-root)", csc)
			}
			if !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) {
				t.Errorf("pod securityContext = %+v", pod.SecurityContext)
			}
			expectAlways(t, job)
		},
	}, {
		name:   "baseline: the user's init container keeps its image's user, the executor runs as root",
		labels: enforce("baseline"),
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{
				InitContainers: []corev1.Container{{Name: "prepare", Image: "busybox"}},
			}}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			pod := job.Spec.Template.Spec
			if sc := pod.InitContainers[0].SecurityContext; sc.RunAsUser != nil {
				t.Errorf("user's init container runAsUser = %d, want unset", *sc.RunAsUser)
			}
			if sc := pod.Containers[0].SecurityContext; ptr.Deref(sc.RunAsUser, -1) != 0 {
				t.Errorf("executor container securityContext = %+v, want root", sc)
			}
			expectAlways(t, job)
			admitted(t, job, psapi.LevelBaseline)
		},
	}, {
		name:   "unlabelled: a privileged container gets no allowPrivilegeEscalation, which the API refuses with it",
		labels: nil,
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			if sc := job.Spec.Template.Spec.Containers[0].SecurityContext; sc.AllowPrivilegeEscalation != nil || !ptr.Deref(sc.Privileged, false) {
				t.Errorf("container securityContext = %+v", sc)
			}
		},
	}, {
		name:   "unlabelled: a container adding CAP_SYS_ADMIN gets no allowPrivilegeEscalation",
		labels: nil,
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}},
			}}
		},
		check: func(t *testing.T, job *batchv1.Job) {
			if sc := job.Spec.Template.Spec.Containers[0].SecurityContext; sc.AllowPrivilegeEscalation != nil {
				t.Errorf("container securityContext = %+v", sc)
			}
		},
	}, {
		name:   "baseline: a privileged container is refused",
		labels: enforce("baseline"),
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
		},
		failed: []string{`its pods would violate PodSecurity "baseline:latest" of namespace "demo"`, "privileged", psapi.EnforceLevelLabel},
	}, {
		name:   "restricted: the user's seccomp Unconfined is refused",
		labels: enforce("restricted"),
		edit:   userPodSC(corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}),
		failed: []string{`would violate PodSecurity "restricted:latest"`, "seccompProfile"},
	}, {
		name:   "restricted: the user's root is refused",
		labels: enforce("restricted"),
		edit:   userPodSC(corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}),
		failed: []string{`would violate PodSecurity "restricted:latest"`, "runAsUser=0"},
	}, {
		name:   "baseline: the user's hostPath volume and host network are refused",
		labels: enforce("baseline"),
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{
				HostNetwork: true,
				Volumes:     []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}},
			}}
		},
		failed: []string{"host namespaces", "hostPath volumes", `volume "host"`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			in.Storage = s3BackupStorage()
			in.PodSecurity = PodSecurityOf(namespace(tc.labels))
			tc.edit(in.RestoreSession)
			before := in.RestoreSession.DeepCopy()
			job, err := RestoreJob(in)
			if !equality.Semantic.DeepEqual(in.RestoreSession.Spec, before.Spec) {
				t.Errorf("the RestoreSession's spec changed:\n%+v\nwant\n%+v", in.RestoreSession.Spec, before.Spec)
			}
			if tc.failed != nil {
				if err == nil {
					t.Fatalf("built a Job, want an error with %q", tc.failed)
				}
				for _, frag := range tc.failed {
					if !strings.Contains(err.Error(), frag) {
						t.Errorf("error %q lacks %q", err, frag)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, job)
		})
	}
}

// TestCheckStorage: a local BackupStorage on a hostPath, which every
// restore Job mounts, is refused where Pod Security forbids hostPath
// volumes, saying why and what to do.
func TestCheckStorage(t *testing.T) {
	msg := func(level string) string {
		return `BackupStorage demo/local-storage is a local (hostPath) storage, which Pod Security "` + level + `" in namespace "demo" forbids: ` +
			`use an s3 BackupStorage (or a local one on a PersistentVolumeClaim) or relax the namespace's pod-security.kubernetes.io/enforce label`
	}
	hostPath := localBackupStorage()
	hostPath.Spec.Storage.Local.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/backups"}}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		storage *storagev1alpha1.BackupStorage
		want    string // the error, "" for none
	}{
		{"hostPath, restricted", enforce("restricted"), hostPath, msg("restricted")},
		{"hostPath, baseline", enforce("baseline"), hostPath, msg("baseline")},
		{"hostPath, privileged", enforce("privileged"), hostPath, ""},
		{"hostPath, unlabelled", nil, hostPath, ""},
		{"PVC, restricted", enforce("restricted"), localBackupStorage(), ""},
		{"S3, restricted", enforce("restricted"), s3BackupStorage(), ""},
		{"none", enforce("restricted"), nil, ""},
	} {
		err := PodSecurityOf(namespace(tc.labels)).CheckStorage(tc.storage)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: CheckStorage = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestHookJobPodSecurity: hook Jobs get the same defaults, except that
// outside restricted namespaces they run as their image's user.
func TestHookJobPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{name: "restricted", labels: enforce("restricted")},
		{name: "unlabelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleHookInput()
			in.PodSecurity = PodSecurityOf(namespace(tc.labels))
			job, err := HookJob(in)
			if err != nil {
				t.Fatal(err)
			}
			expectAlways(t, job)
			if tc.labels != nil {
				expectNonRoot(t, job)
				admitted(t, job, psapi.LevelRestricted)
				return
			}
			if sc := job.Spec.Template.Spec.Containers[0].SecurityContext; sc.RunAsUser != nil {
				t.Errorf("hook container runAsUser = %d, want its image's user", *sc.RunAsUser)
			}
		})
	}
}

package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	core "k8s.io/client-go/testing"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

func enforce(level string) map[string]string {
	return map[string]string{psapi.EnforceLevelLabel: level}
}

func s3BackupStorage() *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: testStorage, Namespace: testNS},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3,
			S3:       &storagev1alpha1.S3Spec{Endpoint: "http://s3.example:7070", Bucket: "backups"},
		}},
	}
}

func hostPathBackupStorage() *storagev1alpha1.BackupStorage {
	bs := newBackupStorage()
	bs.Spec.Storage.Local.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/backups"}}
	return bs
}

// admitted fails unless Pod Security at level:latest admits the Job's pods.
func admitted(t *testing.T, job *batchv1.Job, level psapi.Level) {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psapi.LevelVersion{Level: level, Version: psapi.LatestVersion()}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &job.Spec.Template.ObjectMeta, &job.Spec.Template.Spec))
	if !res.Allowed {
		t.Errorf("Job %s violates PodSecurity %s: %s", job.Name, lv, res.ForbiddenDetail())
	}
}

// allContainers are the pod's init containers, then its containers.
func allContainers(pod *corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
}

// expectNonRoot checks the restricted-namespace security context.
func expectNonRoot(t *testing.T, job *batchv1.Job) {
	t.Helper()
	pod := job.Spec.Template.Spec
	sc := pod.SecurityContext
	if sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, -1) != 65532 || ptr.Deref(sc.RunAsGroup, -1) != 65532 ||
		ptr.Deref(sc.FSGroup, -1) != 65532 || ptr.Deref(sc.FSGroupChangePolicy, "") != corev1.FSGroupChangeOnRootMismatch {
		t.Errorf("Job %s pod securityContext = %+v, want non-root 65532 with fsGroup 65532", job.Name, sc)
	}
	for _, ctr := range allContainers(&pod) {
		csc := ctr.SecurityContext
		if csc == nil || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("Job %s container %s does not drop all capabilities: %+v", job.Name, ctr.Name, csc)
		}
	}
}

// expectAlways checks what every Job gets in every namespace.
func expectAlways(t *testing.T, job *batchv1.Job) {
	t.Helper()
	pod := job.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("Job %s pod seccompProfile = %+v, want RuntimeDefault", job.Name, pod.SecurityContext)
	}
	for _, ctr := range allContainers(&pod) {
		if ctr.SecurityContext == nil || ctr.SecurityContext.AllowPrivilegeEscalation == nil || *ctr.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("Job %s container %s allowPrivilegeEscalation = %+v, want false", job.Name, ctr.Name, ctr.SecurityContext)
		}
	}
}

// TestJobPodSecurityByNamespace: the restore Jobs' security context follows
// the level the namespace enforces, and the Jobs of an S3 restore pass
// that level.
func TestJobPodSecurityByNamespace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		nonRoot bool
		level   psapi.Level // the level the Jobs must pass
	}{
		{"unlabelled", nil, false, psapi.LevelBaseline},
		{"privileged", enforce("privileged"), false, psapi.LevelBaseline},
		{"baseline", enforce("baseline"), false, psapi.LevelBaseline},
		{"only warned and audited at restricted", map[string]string{psapi.WarnLevelLabel: "restricted", psapi.AuditLevelLabel: "restricted"}, false, psapi.LevelBaseline},
		{"restricted", enforce("restricted"), true, psapi.LevelRestricted},
		{"restricted at a pinned version", map[string]string{psapi.EnforceLevelLabel: "restricted", psapi.EnforceVersionLabel: "v1.25"}, true, psapi.LevelRestricted},
		// The admission reads a level it cannot parse as restricted.
		{"invalid level", enforce("strict"), true, psapi.LevelRestricted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			f.start().mustSync()
			expectCondition(t, f.rs(), corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
			jobs := f.jobs()
			if len(jobs) != 2 {
				t.Fatalf("got %d Jobs, want 2", len(jobs))
			}
			for _, job := range jobs {
				expectAlways(t, &job)
				admitted(t, &job, tc.level)
				pod := job.Spec.Template.Spec
				ctr := pod.Containers[0]
				if tc.nonRoot {
					expectNonRoot(t, &job)
					if ctr.SecurityContext.RunAsUser != nil {
						t.Errorf("Job %s container runAsUser = %d, want the pod's", job.Name, *ctr.SecurityContext.RunAsUser)
					}
					continue
				}
				// Root with the runtime's default capabilities, to restore
				// file owners; the pod itself chooses no user.
				if sc := ctr.SecurityContext; ptr.Deref(sc.RunAsUser, -1) != 0 || ptr.Deref(sc.RunAsGroup, -1) != 0 || sc.Capabilities != nil || sc.RunAsNonRoot != nil {
					t.Errorf("Job %s container securityContext = %+v, want root with default capabilities", job.Name, sc)
				}
				if sc := pod.SecurityContext; sc.RunAsUser != nil || sc.RunAsNonRoot != nil || sc.FSGroup != nil {
					t.Errorf("Job %s pod securityContext = %+v, want no user", job.Name, sc)
				}
			}
		})
	}
}

// TestJobPodSecurityUserSettings: the user's security contexts win field by
// field over the defaults, and a Job whose pods the namespace's Pod
// Security would reject is not created: the restore fails with the
// admission's reasons.
func TestJobPodSecurityUserSettings(t *testing.T) {
	userPodSC := func(sc corev1.PodSecurityContext) func(*corev1alpha1.RestoreSession) {
		return func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{Spec: corev1alpha1.PodSpec{SecurityContext: &sc}}
		}
	}
	tests := []struct {
		name   string
		labels map[string]string
		edit   func(*corev1alpha1.RestoreSession)
		check  func(t *testing.T, job *batchv1.Job) // Jobs are created
		failed []string                             // or the restore fails with these fragments
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
		name:   "baseline: a privileged container is refused",
		labels: enforce("baseline"),
		edit: func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
		},
		failed: []string{`Unable to build the restore Job of component "pod-0"`, `would violate PodSecurity "baseline:latest" of namespace "demo"`, "privileged", psapi.EnforceLevelLabel},
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
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			f.editRS(tc.edit)
			var before *corev1alpha1.RestoreSession
			f.editRS(func(rs *corev1alpha1.RestoreSession) { before = rs.DeepCopy() })
			f.start().mustSync()
			rs := f.rs()
			if !equality.Semantic.DeepEqual(rs.Spec, before.Spec) {
				t.Errorf("the RestoreSession's spec changed:\n%+v\nwant\n%+v", rs.Spec, before.Spec)
			}
			if tc.failed != nil {
				expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, tc.failed...)
				expectPhase(t, rs, corev1alpha1.RestoreFailed)
				expectNoJobs(t, f)
				return
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
			jobs := f.jobs()
			if len(jobs) != 2 {
				t.Fatalf("got %d Jobs, want 2", len(jobs))
			}
			for _, job := range jobs {
				tc.check(t, &job)
			}
		})
	}
}

// TestLocalStorageForbiddenByPodSecurity: a local BackupStorage on a
// hostPath in a namespace that enforces baseline or restricted fails the
// restore before anything is created, saying why and what to do; on a PVC,
// or where Pod Security allows hostPath, it restores.
func TestLocalStorageForbiddenByPodSecurity(t *testing.T) {
	msg := func(level string) string {
		return `BackupStorage demo/local-storage is a local (hostPath) storage, which Pod Security "` + level + `" in namespace "demo" forbids: ` +
			`use an s3 BackupStorage (or a local one on a PersistentVolumeClaim) or relax the namespace's pod-security.kubernetes.io/enforce label`
	}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		storage *storagev1alpha1.BackupStorage
		want    string // the failure message, "" for a restore that goes on
	}{
		{"hostPath, restricted", enforce("restricted"), hostPathBackupStorage(), msg("restricted")},
		{"hostPath, baseline", enforce("baseline"), hostPathBackupStorage(), msg("baseline")},
		{"hostPath, privileged", enforce("privileged"), hostPathBackupStorage(), ""},
		{"hostPath, unlabelled", nil, hostPathBackupStorage(), ""},
		{"PVC, restricted", enforce("restricted"), newBackupStorage(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(tc.storage)
			f.start().mustSync()
			rs := f.rs()
			if tc.want == "" {
				expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
				if n := len(f.jobs()); n != 2 {
					t.Errorf("got %d Jobs, want 2", n)
				}
				return
			}
			c := condition(rs, corev1alpha1.TypeRestoreExecutorEnsured)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != corev1alpha1.ReasonFailedToEnsureRestoreExecutor || c.Message != tc.want {
				t.Errorf("RestoreExecutorEnsured = %+v\nwant False/%s with %q", c, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, tc.want)
			}
			expectPhase(t, rs, corev1alpha1.RestoreFailed)
			expectNoJobs(t, f)
			for _, w := range f.writes() {
				if strings.HasPrefix(w, "create ") && !strings.HasPrefix(w, "create events") {
					t.Errorf("created %s for a restore that cannot run", w)
				}
			}
			if ev := f.events(); !slices.Contains(ev, "Warning "+EventReasonExecutorFailed+" "+tc.want) {
				t.Errorf("events = %v, want the failure as a warning", ev)
			}
		})
	}
}

// TestPodSecurityNamespaceUnreadable: without the namespace's labels no
// Job is built; the sync is retried.
func TestPodSecurityNamespaceUnreadable(t *testing.T) {
	f := newFixture(t)
	f.replaceObject(s3BackupStorage())
	f.start()
	f.kubeClient.PrependReactor("get", "namespaces", func(core.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unavailable")
	})
	if _, err := f.sync(); err == nil || !strings.Contains(err.Error(), "reading namespace demo for its Pod Security level") {
		t.Errorf("sync error = %v, want the namespace read's", err)
	}
	f.refresh()
	expectNoJobs(t, f)
	if c := condition(f.rs(), corev1alpha1.TypeRestoreExecutorEnsured); c != nil {
		t.Errorf("RestoreExecutorEnsured set: %+v", c)
	}
}

// TestHookJobPodSecurity: hook Function Jobs get the same defaults, except
// that outside restricted namespaces they run as their image's user; a
// hook Job the namespace would reject fails the hook.
func TestHookJobPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		volumes []corev1.Volume
		failed  string
	}{
		{name: "restricted", labels: enforce("restricted")},
		{name: "unlabelled"},
		{name: "restricted with a hostPath volume", labels: enforce("restricted"),
			volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run"}}}},
			failed:  `would violate PodSecurity "restricted:latest" of namespace "demo": restricted volume types`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			f.objects = append(f.objects,
				&addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hook-fn"}, Spec: addonsv1alpha1.FunctionSpec{Image: "hook:v1"}},
				&corev1alpha1.HookTemplate{
					ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: testNS},
					Spec: corev1alpha1.HookTemplateSpec{Executor: &corev1alpha1.HookExecutor{
						Type: corev1alpha1.HookExecutorFunction, Function: &corev1alpha1.FunctionHookExecutorSpec{Name: "hook-fn"},
					}},
				})
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{{
					Name: "prepare", HookTemplate: common.ObjectReference{Name: "fn"}, Volumes: tc.volumes,
				}}}
			})
			f.start()
			for range 3 {
				f.mustSync()
			}
			if tc.failed != "" {
				expectCondition(t, f.rs(), corev1alpha1.TypePreRestoreHooksExecutionSucceeded, metav1.ConditionFalse, corev1alpha1.ReasonFailedToExecutePreRestoreHooks, tc.failed)
				expectNoJobs(t, f)
				return
			}
			jobs := f.jobs()
			if len(jobs) != 1 || jobs[0].Labels[LabelHook] == "" {
				t.Fatalf("Jobs %d, want the hook's", len(jobs))
			}
			job := &jobs[0]
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

package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	core "k8s.io/client-go/testing"
	psapi "k8s.io/pod-security-admission/api"
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

// TestRestoreJobsPodSecurity: the level the namespace enforces reaches the
// restore Jobs, and a Job whose pods it would reject fails the restore
// before anything is created. (What each level means for a Job: package
// jobbuild.)
func TestRestoreJobsPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		edit    func(*corev1alpha1.RestoreSession)
		nonRoot bool
		failed  []string
	}{
		{name: "unlabelled", nonRoot: false},
		{name: "restricted", labels: enforce("restricted"), nonRoot: true},
		{name: "baseline: a privileged container is refused", labels: enforce("baseline"),
			edit: func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
			},
			failed: []string{`Unable to build the restore Job of component "pod-0"`, `would violate PodSecurity "baseline:latest" of namespace "demo"`, "privileged", psapi.EnforceLevelLabel}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			if tc.edit != nil {
				f.editRS(tc.edit)
			}
			f.start().mustSync()
			rs := f.rs()
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
				if nonRoot := ptr.Deref(job.Spec.Template.Spec.SecurityContext.RunAsNonRoot, false); nonRoot != tc.nonRoot {
					t.Errorf("Job %s runAsNonRoot %t, want %t", job.Name, nonRoot, tc.nonRoot)
				}
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

// TestHookJobPodSecurity: the namespace's Pod Security reaches the hook
// Jobs too; a hook Job the namespace would reject fails the hook. (The
// security context of hook Jobs: package jobbuild.)
func TestHookJobPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		volumes []corev1.Volume
		failed  string
	}{
		{name: "restricted", labels: enforce("restricted")},
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
			if sc := jobs[0].Spec.Template.Spec.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) {
				t.Errorf("hook Job pod securityContext = %+v, want the restricted namespace's non-root", sc)
			}
		})
	}
}

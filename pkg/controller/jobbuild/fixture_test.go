package jobbuild

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// The sample of /work/shared/reference/restoresession.md, as the
// controller resolves it.
const (
	testNS           = "demo"
	testRSName       = "sample-restore"
	testSTS          = "restore-sts"
	testSnapshot     = "gcs-demo-repo-sample-backup-sts-demo-session-1702543201"
	testRestoreTask  = "logical-backup-restore"
	testFunction     = "workload-restore"
	testBackendMount = "/kubestash-backend"
	testDataMount    = "/data"
	testSA           = "restore-executor-sample-restore"
)

var testNow = time.Date(2023, 12, 18, 9, 13, 35, 0, time.UTC)

func testRestoreSession() *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: testRSName, Namespace: testNS, UID: types.UID("rs-uid-1")},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target:     &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindStatefulSet, Name: testSTS, Namespace: testNS},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "gcs-demo-repo", Snapshot: corev1alpha1.SnapshotLatest, Components: []string{"pod-0", "pod-2"}},
			Addon:      corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: testRestoreTask}}},
		},
	}
}

func testOwner(rs *corev1alpha1.RestoreSession) metav1.OwnerReference {
	return *metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind("RestoreSession"))
}

func testFunctionObject() *addonsv1alpha1.Function {
	return &addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: testFunction},
		Spec: addonsv1alpha1.FunctionSpec{
			Image: "ghcr.io/restore-controller/executor:v1",
			Args: []string{"restore", "--namespace=${namespace}", "--restoresession=${restoreSession}",
				"--snapshot=${snapshotName}", "--component=${component}", "--parallel=${parallel}", "--include=${include:=}"},
		},
	}
}

func testSnapshotObject() *storagev1alpha1.Snapshot {
	comp := func(id string) storagev1alpha1.Component {
		return storagev1alpha1.Component{Driver: storagev1alpha1.DriverKopia, Phase: storagev1alpha1.SnapshotSucceeded,
			KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: id, HostPath: testDataMount}}}
	}
	return &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: testSnapshot, Namespace: testNS},
		Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded,
			Components: map[string]storagev1alpha1.Component{"pod-0": comp("k0"), "pod-1": comp("k1"), "pod-2": comp("k2")}},
	}
}

func localBackupStorage() *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "local-storage", Namespace: testNS},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local: &storagev1alpha1.LocalSpec{
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "backend-pvc"}},
				MountPath:    testBackendMount,
			},
		}},
	}
}

func s3BackupStorage() *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "s3-storage", Namespace: testNS},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3,
			S3:       &storagev1alpha1.S3Spec{Endpoint: "http://s3.example:7070", Bucket: "backups"},
		}},
	}
}

// testStatefulSetClaims and testStatefulSetContainers are the target
// StatefulSet's claim templates and where its containers mount them (and
// a volume that is not a claim).
func testStatefulSetClaims() []corev1.PersistentVolumeClaim {
	return []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"app": "db"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
}

func testStatefulSetContainers() []corev1.Container {
	return []corev1.Container{{
		Name: "app", Image: "busybox",
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: testDataMount}, {Name: "config", MountPath: "/etc/app"}},
	}}
}

// sampleInput is the input of the restore Job of component pod-2 of the
// sample, as the controller fills it.
func sampleInput() RestoreJobInput {
	rs := testRestoreSession()
	return RestoreJobInput{
		Meta: Meta{
			Name:        "restore-sample-restore-pod-2",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "kubestash.com", "kubestash.com/invoker-name": testRSName},
			Annotations: map[string]string{"restore.kubestash.com/component": "pod-2"},
			Owner:       testOwner(rs),
		},
		RestoreSession: rs,
		Component:      "pod-2",
		Components:     []string{"pod-0", "pod-2"},
		Tasks: []Task{{
			Ref:       rs.Spec.Addon.Tasks[0],
			AddonTask: addonsv1alpha1.Task{Name: testRestoreTask, Function: testFunction},
			Function:  testFunctionObject(),
			Params:    map[string]string{"parallel": "4", "include": "/data/db"},
		}},
		Snapshot:             testSnapshotObject(),
		Storage:              localBackupStorage(),
		TargetClaimTemplates: testStatefulSetClaims(),
		TargetContainers:     testStatefulSetContainers(),
		Variables: map[string]string{
			invocation.VarNamespace: testNS, invocation.VarRestoreSession: testRSName, invocation.VarSnapshotName: testSnapshot,
			invocation.VarScratchDir: invocation.ScratchDir, invocation.VarTargetName: testSTS,
		},
		ServiceAccount: testSA,
		BackoffLimit:   2,
		Now:            testNow,
	}
}

func volumeNamed(vols []corev1.Volume, name string) *corev1.Volume {
	for i := range vols {
		if vols[i].Name == name {
			return &vols[i]
		}
	}
	return nil
}

func mountAt(mounts []corev1.VolumeMount, path string) *corev1.VolumeMount {
	for i := range mounts {
		if mounts[i].MountPath == path {
			return &mounts[i]
		}
	}
	return nil
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func namespace(labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS, Labels: labels}}
}

func enforce(level string) map[string]string {
	return map[string]string{psapi.EnforceLevelLabel: level}
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

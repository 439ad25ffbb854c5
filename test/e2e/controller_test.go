package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

const restoreTimeout = 90 * time.Second

func stsTarget(name string) *common.TypedObjectReference {
	return &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: name}
}

// TestControllerSampleRestore applies the reference's sample RestoreSession
// unchanged: StatefulSet restore-sts, components pod-0 and pod-2 of the
// latest Snapshot. Exactly two Jobs run, each with its replica's volume,
// and the status ends as the reference shows it.
func TestControllerSampleRestore(t *testing.T) {
	ctx := context.Background()
	const ns = "demo"
	framework.MustCreate(t, "Namespace", func() error {
		_, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = c.Client().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
	framework.LogsOnFailure(t, c, ns)

	w := newRestoreWorld(t, ns, "workload-addon", "gcs-demo-repo")
	const snapName = "gcs-demo-repo-sample-backup-sts-demo-session-1702543201"
	w.snapshot(t, snapName, time.Now().Add(-time.Hour), storagev1alpha1.SnapshotSucceeded, "/data", "pod-0", "pod-1", "pod-2")
	statefulSet(t, ns, "restore-sts", 3)
	startController(t)

	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join(root, "artifacts", "examples", "sample-restore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Create(ctx, string(sample)); err != nil {
		t.Fatalf("applying the reference sample: %v", err)
	}

	rs := framework.WaitForPhase(t, restoreClient, ns, "sample-restore", corev1alpha1.RestoreSucceeded, restoreTimeout)

	// Exactly two Jobs, one per requested component, each mounting its
	// replica's PVC where the StatefulSet mounts it.
	jobs := restoreJobs(t, ns, "sample-restore")
	var names []string
	for _, job := range jobs {
		names = append(names, job.Name)
	}
	slices.Sort(names)
	if want := []string{"restore-sample-restore-pod-0", "restore-sample-restore-pod-2"}; !slices.Equal(names, want) {
		t.Fatalf("Jobs = %v, want %v", names, want)
	}
	for _, job := range jobs {
		comp := job.Annotations[controller.AnnotationComponent]
		ordinal := strings.TrimPrefix(comp, "pod-")
		if ref := metav1.GetControllerOf(&job); ref == nil || ref.UID != rs.UID {
			t.Errorf("Job %s is not controlled by the RestoreSession: %v", job.Name, job.OwnerReferences)
		}
		for k, v := range map[string]string{
			controller.LabelManagedBy: controller.ManagedByValue, controller.LabelInvokerName: "sample-restore", controller.LabelInvokerNamespace: ns,
		} {
			if job.Labels[k] != v {
				t.Errorf("Job %s label %s = %q, want %q", job.Name, k, job.Labels[k], v)
			}
		}
		pod := job.Spec.Template.Spec
		if claim := volumeClaim(pod, "data"); claim != "data-restore-sts-"+ordinal {
			t.Errorf("Job %s volume data claims %q, want data-restore-sts-%s", job.Name, claim, ordinal)
		}
		ctr := pod.Containers[0]
		if p := mountPath(ctr, "data"); p != "/data" {
			t.Errorf("Job %s mounts data at %q, want /data", job.Name, p)
		}
		if p := mountPath(ctr, "kubestash-backend"); p != "/kubestash-repo" {
			t.Errorf("Job %s mounts the backend at %q, want /kubestash-repo", job.Name, p)
		}
		if env := envValue(ctr, invocation.EnvSnapshot); env != snapName {
			t.Errorf("Job %s %s = %q, want the resolved %q", job.Name, invocation.EnvSnapshot, env, snapName)
		}
		if env := envValue(ctr, invocation.EnvTargetMountPaths); env != "/data" {
			t.Errorf("Job %s %s = %q, want /data", job.Name, invocation.EnvTargetMountPaths, env)
		}
	}

	// The status the reference shows.
	st := rs.Status
	if st.TotalComponents != 2 || len(st.Components) != 2 {
		t.Errorf("totalComponents = %d, components = %v; want 2 and 2", st.TotalComponents, st.Components)
	}
	for _, comp := range []string{"pod-0", "pod-2"} {
		if got := st.Components[comp]; got.Phase != corev1alpha1.RestoreSucceeded || got.Duration == "" {
			t.Errorf("component %s = %+v, want Succeeded with a duration", comp, got)
		}
	}
	if st.TargetFound == nil || !*st.TargetFound || st.Duration == "" {
		t.Errorf("targetFound = %v, duration = %q", st.TargetFound, st.Duration)
	}
	for condType, msg := range map[string]string{
		corev1alpha1.TypeValidationPassed:       corev1alpha1.MessageResourceValidationPassed,
		corev1alpha1.TypeRestoreExecutorEnsured: corev1alpha1.MessageRestoreExecutorEnsured,
		corev1alpha1.TypeMetricsPushed:          corev1alpha1.MessageMetricsPushed,
	} {
		if cond := apimeta.FindStatusCondition(rs.Status.Conditions, condType); cond == nil || cond.Status != metav1.ConditionTrue || cond.Message != msg {
			t.Errorf("condition %s = %+v, want True %q", condType, cond, msg)
		}
	}
	if !hasDependency(rs, "Snapshot", snapName) || !hasDependency(rs, "Addon", "workload-addon") {
		t.Errorf("dependencies = %+v, want the resolved Snapshot and the Addon found", st.Dependencies)
	}

	// The executor ran with a Role that names exactly its objects.
	role, err := c.Client().RbacV1().Roles(ns).Get(ctx, "restore-executor-sample-restore", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range role.Rules {
		if len(rule.ResourceNames) == 0 {
			t.Errorf("executor Role rule %+v is not restricted to named objects", rule)
		}
		if slices.Contains(rule.Verbs, "list") || slices.Contains(rule.Verbs, "watch") {
			t.Errorf("executor Role rule %+v can list or watch", rule)
		}
	}
}

// TestControllerTargets restores into a standalone PVC and into a
// Deployment's volume named by targetVolumes.
func TestControllerTargets(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "targets-"+ns, "repo")
	w.snapshot(t, "pvc-snap", time.Now(), storagev1alpha1.SnapshotSucceeded, "/kubestash-data", "dump")
	startController(t)

	t.Run("PersistentVolumeClaim", func(t *testing.T) {
		persistentVolumeClaim(t, ns, "app-data")
		rs := w.restoreSession("pvc-restore", "pvc-snap", appDataTarget(), "")
		createRestore(t, rs)
		framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
		jobs := restoreJobs(t, ns, rs.Name)
		if len(jobs) != 1 {
			t.Fatalf("%d Jobs, want 1", len(jobs))
		}
		pod := jobs[0].Spec.Template.Spec
		if claim := volumeClaim(pod, "target"); claim != "app-data" {
			t.Errorf("target volume claims %q, want app-data", claim)
		}
		if p := mountPath(pod.Containers[0], "target"); p != "/kubestash-data" {
			t.Errorf("target mounted at %q, want the snapshot's hostPath /kubestash-data", p)
		}
	})

	t.Run("Deployment", func(t *testing.T) {
		persistentVolumeClaim(t, ns, "web-data")
		framework.MustCreate(t, "Deployment", func() error { return createDeployment(ctx, ns, "web") })
		rs := w.restoreSession("deploy-restore", "pvc-snap", &common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"}, "")
		rs.Spec.Addon.Tasks[0].TargetVolumes = &corev1alpha1.TargetVolumeInfo{
			Volumes: []corev1.Volume{{Name: "web-data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "web-data"},
			}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "web-data", MountPath: "/kubestash-data"}},
		}
		createRestore(t, rs)
		framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
		jobs := restoreJobs(t, ns, rs.Name)
		if len(jobs) != 1 {
			t.Fatalf("%d Jobs, want 1", len(jobs))
		}
		if claim := volumeClaim(jobs[0].Spec.Template.Spec, "web-data"); claim != "web-data" {
			t.Errorf("volume web-data claims %q", claim)
		}
	})
}

// TestControllerLatestPicksNewest: "latest" is the newest Succeeded
// Snapshot of the Repository; a newer Failed one does not count.
func TestControllerLatestPicksNewest(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "latest-"+ns, "repo")
	now := time.Now()
	w.snapshot(t, "snap-old", now.Add(-3*time.Hour), storagev1alpha1.SnapshotSucceeded, "/kubestash-data", "dump")
	w.snapshot(t, "snap-new", now.Add(-2*time.Hour), storagev1alpha1.SnapshotSucceeded, "/kubestash-data", "dump")
	w.snapshot(t, "snap-failed", now.Add(-time.Hour), storagev1alpha1.SnapshotFailed, "/kubestash-data", "dump")
	persistentVolumeClaim(t, ns, "app-data")
	startController(t)

	rs := w.restoreSession("latest", corev1alpha1.SnapshotLatest, appDataTarget(), "")
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
	if !hasDependency(got, "Snapshot", "snap-new") {
		t.Errorf("dependencies = %+v, want Snapshot snap-new", got.Status.Dependencies)
	}
	jobs := restoreJobs(t, ns, rs.Name)
	if len(jobs) != 1 || envValue(jobs[0].Spec.Template.Spec.Containers[0], invocation.EnvSnapshot) != "snap-new" {
		t.Errorf("Jobs %v do not restore snap-new", jobs)
	}
}

// TestControllerPausesAndResumesBackups: the target's BackupConfiguration is
// paused before the first Job exists and resumed when the restore ends;
// another target's is not touched.
func TestControllerPausesAndResumesBackups(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "pause-"+ns, "repo")
	w.snapshot(t, "snap", time.Now(), storagev1alpha1.SnapshotSucceeded, "/data", "pod-0", "pod-1")
	statefulSet(t, ns, "db", 2)
	for name, target := range map[string]string{"nightly": "db", "unrelated": "other"} {
		backupConfiguration(t, ns, name, stsTarget(target))
	}
	startController(t)

	rs := w.restoreSession("paused", "snap", stsTarget("db"), `{"outcome":"wait"}`)
	createRestore(t, rs)
	framework.Poll(t, restoreTimeout, "the first restore Job", func(ctx context.Context) (bool, string, error) {
		return len(restoreJobs(t, ns, rs.Name)) > 0, "", nil
	})
	// A Job exists, so the pause must already have happened.
	bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bc.Spec.Paused || bc.Annotations[controller.AnnotationPausedBy] != ns+"/paused" {
		t.Fatalf("BackupConfiguration nightly not paused before the Jobs: paused=%t annotations=%v", bc.Spec.Paused, bc.Annotations)
	}
	other, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Get(ctx, "unrelated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Spec.Paused {
		t.Error("BackupConfiguration of another target was paused")
	}
	// The status lists the pause once the sync that paused it is written.
	framework.Poll(t, 30*time.Second, "pausedBackups to list nightly, with the finalizer", func(ctx context.Context) (bool, string, error) {
		running, err := restoreClient.CoreV1alpha1().RestoreSessions(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		listed := len(running.Status.PausedBackups) == 1 && running.Status.PausedBackups[0].Name == "nightly"
		return listed && slices.Contains(running.Finalizers, controller.FinalizerRestore),
			fmt.Sprintf("pausedBackups=%v finalizers=%v", running.Status.PausedBackups, running.Finalizers), nil
	})

	release(t, ns, rs.Name)
	framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.Poll(t, 30*time.Second, "nightly resumed and the finalizer removed", func(ctx context.Context) (bool, string, error) {
		bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Get(ctx, "nightly", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		got, err := restoreClient.CoreV1alpha1().RestoreSessions(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		_, marked := bc.Annotations[controller.AnnotationPausedBy]
		return !bc.Spec.Paused && !marked && len(got.Finalizers) == 0, "", nil
	})
}

// TestControllerDeadline: a restore still running at its deadline fails
// with a message saying so, and its Jobs are stopped.
func TestControllerDeadline(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "deadline-"+ns, "repo")
	w.dumpIntoAppData(t)
	startController(t)

	rs := w.restoreSession("slow", "snap", appDataTarget(), `{"outcome":"hang"}`)
	rs.Spec.RestoreTimeout = &metav1.Duration{Duration: 4 * time.Second}
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
	cond := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypeDeadlineExceeded)
	if cond == nil || cond.Status != metav1.ConditionTrue || !strings.Contains(cond.Message, "restoreTimeout (4s)") {
		t.Fatalf("DeadlineExceeded = %+v, want True naming restoreTimeout (4s)", cond)
	}
	if got.Status.RestoreDeadline == nil || got.Status.RestoreDeadline.Sub(got.CreationTimestamp.Time) > 6*time.Second {
		t.Errorf("restoreDeadline = %v for a restore created at %v with a 4s timeout", got.Status.RestoreDeadline, got.CreationTimestamp)
	}
	framework.Poll(t, 30*time.Second, "the hanging Job to be stopped", func(ctx context.Context) (bool, string, error) {
		jobs := restoreJobs(t, ns, rs.Name)
		for _, job := range jobs {
			if job.DeletionTimestamp == nil {
				return false, job.Name + " still exists", nil
			}
		}
		return true, "", nil
	})
}

// TestControllerInvalidReference: a RestoreSession naming a Snapshot that
// does not exist is Invalid, says which field is wrong, and proceeds once
// the Snapshot appears.
func TestControllerInvalidReference(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "invalid-"+ns, "repo")
	persistentVolumeClaim(t, ns, "app-data")
	startController(t)

	rs := w.restoreSession("bad-ref", "does-not-exist", appDataTarget(), "")
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreInvalid, restoreTimeout)
	cond := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypeValidationPassed)
	if cond == nil || cond.Reason != corev1alpha1.ReasonResourceValidationFailed ||
		!strings.Contains(cond.Message, "spec.dataSource.snapshot") || !strings.Contains(cond.Message, "not found") {
		t.Fatalf("ValidationPassed = %+v, want a failure naming spec.dataSource.snapshot", cond)
	}
	framework.Poll(t, 30*time.Second, "a Warning Event naming the field", func(ctx context.Context) (bool, string, error) {
		events, err := c.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == rs.Name && e.Type == corev1.EventTypeWarning && e.Reason == controller.EventReasonInvalid &&
				strings.Contains(e.Message, "spec.dataSource.snapshot") {
				return true, "", nil
			}
		}
		return false, "", nil
	})
	if jobs := restoreJobs(t, ns, rs.Name); len(jobs) != 0 {
		t.Fatalf("an invalid RestoreSession created %d Jobs", len(jobs))
	}

	w.snapshot(t, "does-not-exist", time.Now(), storagev1alpha1.SnapshotSucceeded, "/kubestash-data", "dump")
	framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
}

// TestControllerJobEndsEarly: an executor that dies without reporting fails
// its Job; the restore is marked incomplete with the Job's reason and the
// component keeps the status the executor last reported.
func TestControllerJobEndsEarly(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "crash-"+ns, "repo")
	w.dumpIntoAppData(t)
	startController(t)

	rs := w.restoreSession("crash", "snap", appDataTarget(), `{"outcome":"crash"}`)
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
	cond := apimeta.FindStatusCondition(got.Status.Conditions, corev1alpha1.TypeRestoreIncomplete)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != corev1alpha1.ReasonRestoreExecutorTerminatedBeforeCompletion ||
		!strings.Contains(cond.Message, "BackoffLimitExceeded") {
		t.Fatalf("RestoreIncomplete = %+v, want True with the Job's reason", cond)
	}
	if phase := got.Status.Components["dump"].Phase; phase != corev1alpha1.RestoreRunning {
		t.Errorf("component dump = %q, want Running as the executor left it", phase)
	}
}

// TestControllerRestartMidRestore: a controller stopped while Jobs run and
// replaced by a new one creates no duplicate Job and finishes the restore.
func TestControllerRestartMidRestore(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "restart-"+ns, "repo")
	w.snapshot(t, "snap", time.Now(), storagev1alpha1.SnapshotSucceeded, "/data", "pod-0", "pod-1")
	statefulSet(t, ns, "db", 2)
	stop := startController(t)

	rs := w.restoreSession("restart", "snap", stsTarget("db"), `{"outcome":"wait"}`)
	createRestore(t, rs)
	framework.Poll(t, restoreTimeout, "both components Running", func(ctx context.Context) (bool, string, error) {
		got, err := restoreClient.CoreV1alpha1().RestoreSessions(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		running := 0
		for _, comp := range got.Status.Components {
			if comp.Phase == corev1alpha1.RestoreRunning {
				running++
			}
		}
		return running == 2, framework.DescribeStatus(got), nil
	})
	before := jobUIDs(restoreJobs(t, ns, rs.Name))
	stop()

	startController(t)
	release(t, ns, rs.Name)
	framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
	if after := jobUIDs(restoreJobs(t, ns, rs.Name)); !slices.Equal(before, after) {
		t.Fatalf("Jobs changed across the restart: before %v, after %v", before, after)
	}
}

func jobUIDs(jobs []batchv1.Job) []string {
	var uids []string
	for _, job := range jobs {
		uids = append(uids, job.Name+"/"+string(job.UID))
	}
	slices.Sort(uids)
	return uids
}

// release lets the RestoreSession's waiting fakeexecutors finish.
func release(t *testing.T, ns, name string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{releaseAnnotation: "true"}}})
	if _, err := restoreClient.CoreV1alpha1().RestoreSessions(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func hasDependency(rs *corev1alpha1.RestoreSession, kind, name string) bool {
	for _, d := range rs.Status.Dependencies {
		if d.Kind == kind && d.Name == name && d.Found {
			return true
		}
	}
	return false
}

func volumeClaim(pod corev1.PodSpec, volume string) string {
	for _, v := range pod.Volumes {
		if v.Name == volume && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

func mountPath(ctr corev1.Container, volume string) string {
	for _, m := range ctr.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func envValue(ctr corev1.Container, name string) string {
	for _, e := range ctr.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func createDeployment(ctx context.Context, ns, name string) error {
	labels := map[string]string{"app": name}
	_, err := c.Client().AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:v1"}}},
			},
		},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// TestControllerComponentFails: an executor that reports its component
// Failed exits with the permanent-failure code, so the Job fails at once
// instead of retrying, and the restore fails with the component's error.
func TestControllerComponentFails(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "fails-"+ns, "repo")
	w.dumpIntoAppData(t)
	framework.StartController(t, controllerConfig(t), controller.Options{ExecutorBackoffLimit: ptr.To[int32](3)})

	rs := w.restoreSession("fails", "snap", appDataTarget(), `{"outcome":"fail"}`)
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
	if comp := got.Status.Components["dump"]; comp.Phase != corev1alpha1.RestoreFailed || comp.Error != "simulated restore failure" {
		t.Errorf("component dump = %+v, want Failed with the executor's error", comp)
	}
	framework.Poll(t, 30*time.Second, "the Job to fail by its pod failure policy", func(ctx context.Context) (bool, string, error) {
		job, err := c.Client().BatchV1().Jobs(ns).Get(ctx, "restore-fails-dump", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		cond := framework.JobCondition(job, batchv1.JobFailed)
		return cond != nil && cond.Reason == batchv1.JobReasonPodFailurePolicy, fmt.Sprintf("conditions %+v", job.Status.Conditions), nil
	})
	pods, err := c.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=restore-fails-dump"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Errorf("%d pods ran, want 1: a permanent failure is not retried", len(pods.Items))
	}
}

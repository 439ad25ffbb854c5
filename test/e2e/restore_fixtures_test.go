package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/test/framework"
)

// executorImage is mapped to the fakeexecutor binary built by TestMain: it
// reports its component like the real executor but moves no data.
const executorImage = "example.com/fakeexecutor:v1"

// releaseAnnotation lets a fakeexecutor started with --outcome=wait finish.
const releaseAnnotation = "e2e.restore.kubestash.com/release"

// controllerConfig is a client config with the controller's service
// account: only what artifacts/rbac/controller.yaml grants.
func controllerConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := c.ServiceAccountConfig(context.Background(), framework.ControllerNamespace, framework.ControllerServiceAccount)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startController runs the controller in-process with the permissions of
// its RBAC manifest until the returned stop function is called or the test
// ends. Each option adjusts the test defaults (e.g. sets a MetricsPusher).
func startController(t *testing.T, options ...func(*controller.Options)) (stop func()) {
	t.Helper()
	opts := controller.Options{
		TargetPollInterval:   500 * time.Millisecond,
		ExecutorBackoffLimit: ptr.To[int32](0),
	}
	for _, set := range options {
		set(&opts)
	}
	return framework.StartController(t, controllerConfig(t), opts)
}

// restoreWorld is what a restore needs besides the RestoreSession: the
// storage, repository, snapshots, addon catalog and encryption Secret.
type restoreWorld struct {
	ns, addon, function, repository string
	// storage is the BackupStorage the repository lives in.
	storage *backupStorage
	// storageDir is the host directory of a local BackupStorage ("" for
	// an object store).
	storageDir string
}

// newRestoreWorld is newRestoreWorldOn a local BackupStorage: a fresh
// host directory.
func newRestoreWorld(t *testing.T, ns, addon, repo string) *restoreWorld {
	t.Helper()
	return newRestoreWorldOn(t, ns, addon, repo, localBackupStorage(t))
}

// newRestoreWorldOn creates, in ns, the encryption Secret
// "encrypt-secret", the BackupStorage backupStorageName as storage
// describes it (with its credentials Secret, if any), the Repository repo,
// and a cluster-scoped Addon with the restore task "logical-backup-restore"
// running the fakeexecutor (task parameter "outcome", default "succeed")
// and its Function. The cluster-scoped objects are deleted when the test
// ends.
func newRestoreWorldOn(t *testing.T, ns, addon, repo string, storage *backupStorage) *restoreWorld {
	t.Helper()
	ctx := context.Background()
	w := &restoreWorld{ns: ns, addon: addon, function: addon + "-restore", repository: repo, storage: storage}
	if l := storage.spec.Storage.Local; l != nil && l.HostPath != nil {
		w.storageDir = l.HostPath.Path
	}

	framework.MustCreate(t, "Secret", func() error {
		_, err := c.Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "encrypt-secret"},
			StringData: map[string]string{storagev1alpha1.EncryptionKeyRestic: "not-read-by-the-fake-executor"},
		}, metav1.CreateOptions{})
		return err
	})
	storage.create(t, ns)
	framework.MustCreate(t, "Repository", func() error {
		_, err := restoreClient.StorageV1alpha1().Repositories(ns).Create(ctx, &storagev1alpha1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: repo},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef:       common.ObjectReference{Name: backupStorageName},
				Path:             "/" + repo,
				EncryptionSecret: &common.ObjectReference{Name: "encrypt-secret"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	createAddon(t, addon, w.function, addonsv1alpha1.FunctionSpec{
		Image:   executorImage,
		Command: []string{"/fakeexecutor"},
		Args:    []string{"--outcome=${outcome:=succeed}"},
	}, addonsv1alpha1.Task{
		Name:       "logical-backup-restore",
		Parameters: []common.ParameterDefinition{{Name: "outcome", Default: "succeed"}},
	})
	return w
}

// snapshot creates a Succeeded (or other phase) Snapshot of the world's
// repository taken at `at`, with components backed up from hostPath.
func (w *restoreWorld) snapshot(t *testing.T, name string, at time.Time, phase storagev1alpha1.SnapshotPhase, hostPath string, components ...string) {
	t.Helper()
	ctx := context.Background()
	snap, err := restoreClient.StorageV1alpha1().Snapshots(w.ns).Create(ctx, &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{storagev1alpha1.LabelRepoName: w.repository}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: w.repository},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap.Status = storagev1alpha1.SnapshotStatus{
		Phase:           phase,
		SnapshotTime:    &metav1.Time{Time: at},
		TotalComponents: int32(len(components)),
		Components:      map[string]storagev1alpha1.Component{},
	}
	for _, comp := range components {
		snap.Status.Components[comp] = storagev1alpha1.Component{
			Phase: storagev1alpha1.SnapshotSucceeded, Driver: storagev1alpha1.DriverKopia, Path: "repository/" + comp,
			KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: "k" + comp, HostPath: hostPath, Size: "1 KiB"}},
		}
	}
	if _, err := restoreClient.StorageV1alpha1().Snapshots(w.ns).UpdateStatus(ctx, snap, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// restoreSession returns a RestoreSession of the world's addon task.
func (w *restoreWorld) restoreSession(name, snapshot string, target *common.TypedObjectReference, params string) *corev1alpha1.RestoreSession {
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: target,
			DataSource: corev1alpha1.RestoreDataSource{
				Repository: w.repository,
				Snapshot:   snapshot,
			},
			Addon: corev1alpha1.AddonInfo{
				Name:  w.addon,
				Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}},
			},
		},
	}
	if params != "" {
		rs.Spec.Addon.Tasks[0].Params = &runtime.RawExtension{Raw: []byte(params)}
	}
	return rs
}

// statefulSet creates a StatefulSet whose replicas mount the claim template
// "data" at /data. Its image is not mapped, so its pods only pretend to run.
func statefulSet(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	statefulSetWithClaim(t, ns, name, replicas, "data", "/data")
}

// statefulSetWithClaim creates a StatefulSet whose replicas mount the claim
// template claim at mountPath.
func statefulSetWithClaim(t *testing.T, ns, name string, replicas int32, claim, mountPath string) {
	t.Helper()
	labels := map[string]string{"app": name}
	framework.MustCreate(t, "StatefulSet", func() error {
		_, err := c.Client().AppsV1().StatefulSets(ns).Create(context.Background(), &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.StatefulSetSpec{
				Replicas: ptr.To(replicas),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "example.com/app:v1",
						VolumeMounts: []corev1.VolumeMount{{Name: claim, MountPath: mountPath}},
					}}},
				},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					ObjectMeta: metav1.ObjectMeta{Name: claim},
					Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceStorage: resource.MustParse("1Gi"),
						}},
					},
				}},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

// persistentVolumeClaim creates a PVC of the default StorageClass.
func persistentVolumeClaim(t *testing.T, ns, name string) {
	t.Helper()
	framework.MustCreate(t, "PersistentVolumeClaim", func() error {
		_, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse("1Gi"),
				}},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

// restoreJobs lists the Jobs the controller made for a RestoreSession.
func restoreJobs(t *testing.T, ns, rsName string) []batchv1.Job {
	t.Helper()
	jobs, err := c.Client().BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: controller.LabelInvokerName + "=" + rsName,
	})
	if err != nil {
		t.Fatal(err)
	}
	return jobs.Items
}

// dumpIntoAppData creates the Snapshot "snap" with one component "dump"
// backed up from /kubestash-data, and the PVC "app-data" to restore it into
// (appDataTarget).
func (w *restoreWorld) dumpIntoAppData(t *testing.T) {
	t.Helper()
	w.snapshot(t, "snap", time.Now(), storagev1alpha1.SnapshotSucceeded, "/kubestash-data", "dump")
	persistentVolumeClaim(t, w.ns, "app-data")
}

// appDataTarget is the PVC dumpIntoAppData creates.
func appDataTarget() *common.TypedObjectReference {
	return &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "app-data"}
}

// createRestore creates a RestoreSession through the generated clientset.
func createRestore(t *testing.T, rs *corev1alpha1.RestoreSession) {
	t.Helper()
	if _, err := restoreClient.CoreV1alpha1().RestoreSessions(rs.Namespace).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// backupConfiguration creates a BackupConfiguration of target, for a
// restore of the same target to pause.
func backupConfiguration(t *testing.T, ns, name string, target *common.TypedObjectReference) {
	t.Helper()
	framework.MustCreate(t, "BackupConfiguration", func() error {
		_, err := restoreClient.CoreV1alpha1().BackupConfigurations(ns).Create(context.Background(), &corev1alpha1.BackupConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1alpha1.BackupConfigurationSpec{Target: target},
		}, metav1.CreateOptions{})
		return err
	})
}

// createAddon creates the cluster-scoped Function fn and an Addon whose one
// restore task runs it with the Kopia driver as a Job; both are deleted
// when the test ends.
func createAddon(t *testing.T, addon, function string, fn addonsv1alpha1.FunctionSpec, task addonsv1alpha1.Task) {
	t.Helper()
	ctx := context.Background()
	framework.MustCreate(t, "Function", func() error {
		_, err := restoreClient.AddonsV1alpha1().Functions().Create(ctx, &addonsv1alpha1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: function}, Spec: fn,
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Functions().Delete(ctx, function, metav1.DeleteOptions{}) })
	task.Function = function
	task.Driver = string(storagev1alpha1.DriverKopia)
	task.Executor = addonsv1alpha1.ExecutorJob
	framework.MustCreate(t, "Addon", func() error {
		_, err := restoreClient.AddonsV1alpha1().Addons().Create(ctx, &addonsv1alpha1.Addon{
			ObjectMeta: metav1.ObjectMeta{Name: addon},
			Spec:       addonsv1alpha1.AddonSpec{RestoreTasks: []addonsv1alpha1.Task{task}},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Addons().Delete(ctx, addon, metav1.DeleteOptions{}) })
}

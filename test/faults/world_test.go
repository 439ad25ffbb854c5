package faults

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/test/framework"
)

// Names every world uses in its own namespace.
const (
	storageName       = "backup-storage"
	storageSecretName = "storage-credentials"
	encryptionSecret  = "encrypt-secret"
	repositoryName    = "repo"
	restoreTask       = "logical-backup-restore"
	// component is the one component of every Snapshot, backed up from
	// dataHostPath, where a restore puts it into the target PVC.
	component    = "data"
	dataHostPath = "/kubestash-data"
	password     = "faults-password"
	bucket       = "faults"
)

// world is what a restore needs besides the RestoreSession, in its own
// namespace: the encryption Secret, a BackupStorage (a host directory, or
// S3 on versitygw behind a throttling proxy), the Repository and a
// cluster-scoped Addon whose task runs the real executor.
type world struct {
	ns, addon string
	// storageDir is a local storage's host directory.
	storageDir string
	// s3 is the S3 endpoint (the proxy's address) of an S3 world.
	s3       string
	seedArgs []string
}

// newLocalWorld is a world on a local BackupStorage (a host directory).
func newLocalWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{ns: framework.NewNamespace(t, c, "faults-"), storageDir: dir, seedArgs: []string{"--local-storage-dir", dir}}
	w.create(t, storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
		Provider: storagev1alpha1.ProviderLocal,
		Local: &storagev1alpha1.LocalSpec{
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectory)}},
			MountPath:    "/kubestash-repo",
		},
	}}, nil)
	return w
}

// newS3World is a world on bucket of the S3 server at endpoint (host:port)
// with credentials (nil: the storage's Secret is not created).
func newS3World(t *testing.T, endpoint string, credentials map[string]string) *world {
	t.Helper()
	w := &world{ns: framework.NewNamespace(t, c, "faults-"), s3: endpoint}
	w.create(t, storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
		Provider: storagev1alpha1.ProviderS3,
		S3: &storagev1alpha1.S3Spec{Endpoint: "http://" + endpoint, Bucket: bucket, Prefix: "/" + "backups",
			Region: "us-east-1", SecretName: storageSecretName},
	}}, credentials)
	return w
}

// s3Credentials are the storage Secret's data for s3.
func s3Credentials(s3 *s3Peer) map[string]string {
	return map[string]string{storagev1alpha1.S3AccessKeyIDKey: s3.access, storagev1alpha1.S3SecretAccessKeyKey: s3.secret}
}

func (w *world) create(t *testing.T, spec storagev1alpha1.BackupStorageSpec, credentials map[string]string) {
	t.Helper()
	ctx := context.Background()
	w.secret(t, encryptionSecret, map[string]string{storagev1alpha1.EncryptionKeyRestic: password})
	if credentials != nil {
		w.secret(t, storageSecretName, credentials)
	}
	framework.MustCreate(t, "BackupStorage", func() error {
		_, err := restoreClient.StorageV1alpha1().BackupStorages(w.ns).Create(ctx, &storagev1alpha1.BackupStorage{
			ObjectMeta: metav1.ObjectMeta{Name: storageName}, Spec: spec,
		}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "Repository", func() error {
		_, err := restoreClient.StorageV1alpha1().Repositories(w.ns).Create(ctx, &storagev1alpha1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: repositoryName},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef: common.ObjectReference{Name: storageName}, Path: "/" + repositoryName,
				EncryptionSecret: &common.ObjectReference{Name: encryptionSecret},
			},
		}, metav1.CreateOptions{})
		return err
	})
	w.addon = "faults-" + w.ns
	var params []common.ParameterDefinition
	for _, p := range []string{invocation.ParamParallel, invocation.ParamResume} {
		params = append(params, common.ParameterDefinition{Name: p})
	}
	framework.MustCreate(t, "Function", func() error {
		_, err := restoreClient.AddonsV1alpha1().Functions().Create(ctx, &addonsv1alpha1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: w.addon},
			Spec: addonsv1alpha1.FunctionSpec{
				Image:   executorImage,
				Command: []string{"/restore-executor"},
				Args: []string{"restore", "--snapshot=${snapshotName}", "--component=${component}", "--progress-interval=200ms",
					"--parallel=${parallel:=0}", "--resume=${resume:=true}"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Functions().Delete(ctx, w.addon, metav1.DeleteOptions{}) })
	framework.MustCreate(t, "Addon", func() error {
		_, err := restoreClient.AddonsV1alpha1().Addons().Create(ctx, &addonsv1alpha1.Addon{
			ObjectMeta: metav1.ObjectMeta{Name: w.addon},
			Spec: addonsv1alpha1.AddonSpec{RestoreTasks: []addonsv1alpha1.Task{{
				Name: restoreTask, Function: w.addon, Driver: string(storagev1alpha1.DriverKopia),
				Executor: addonsv1alpha1.ExecutorJob, Parameters: params,
			}}},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Addons().Delete(ctx, w.addon, metav1.DeleteOptions{}) })
}

// secret creates (or replaces) the Secret name in the world's namespace.
func (w *world) secret(t *testing.T, name string, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	_ = c.Client().CoreV1().Secrets(w.ns).Delete(ctx, name, metav1.DeleteOptions{})
	framework.MustCreate(t, "Secret "+name, func() error {
		_, err := c.Client().CoreV1().Secrets(w.ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data,
		}, metav1.CreateOptions{})
		return err
	})
}

// seed snapshots src as the Snapshot name's component "data" with
// `restore-executor snapshot`, run on the host with the admin kubeconfig.
func (w *world) seed(t *testing.T, name, src string) {
	t.Helper()
	args := []string{"snapshot", "--kubeconfig", c.KubeconfigPath(), "--namespace", w.ns,
		"--repository", repositoryName, "--name", name, "--scratch-dir", t.TempDir(),
		"--component", component + "=" + src + ":" + dataHostPath}
	framework.RunCommand(t, nil, executorBin, append(args, w.seedArgs...)...)
}

// claim creates a PVC of the default StorageClass.
func (w *world) claim(t *testing.T, name string) {
	t.Helper()
	framework.MustCreate(t, "PersistentVolumeClaim", func() error {
		_, err := c.Client().CoreV1().PersistentVolumeClaims(w.ns).Create(context.Background(), &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

// restore creates a RestoreSession of snapshot into the PVC claim with the
// task's params (JSON, "" for none); adjust changes it before it is
// created.
func (w *world) restore(t *testing.T, name, snapshot, claim, params string, adjust ...func(*corev1alpha1.RestoreSession)) {
	t.Helper()
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target:     &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claim},
			DataSource: corev1alpha1.RestoreDataSource{Repository: repositoryName, Snapshot: snapshot},
			Addon:      corev1alpha1.AddonInfo{Name: w.addon, Tasks: []corev1alpha1.TaskReference{{Name: restoreTask}}},
		},
	}
	if params != "" {
		rs.Spec.Addon.Tasks[0].Params = &runtime.RawExtension{Raw: []byte(params)}
	}
	for _, a := range adjust {
		a(rs)
	}
	if _, err := restoreClient.CoreV1alpha1().RestoreSessions(w.ns).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// jobs lists the Jobs the controller made for the RestoreSession rs.
func (w *world) jobs(ctx context.Context, rs string) ([]batchv1.Job, error) {
	list, err := c.Client().BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{LabelSelector: controller.LabelInvokerName + "=" + rs})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// pods lists the pods of the RestoreSession rs's Jobs.
func (w *world) pods(ctx context.Context, rs string) ([]corev1.Pod, error) {
	jobs, err := w.jobs(ctx, rs)
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, j := range jobs {
		list, err := c.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + j.Name})
		if err != nil {
			return nil, err
		}
		out = append(out, list.Items...)
	}
	return out, nil
}

// get returns the RestoreSession name.
func (w *world) get(ctx context.Context, name string) (*corev1alpha1.RestoreSession, error) {
	return restoreClient.CoreV1alpha1().RestoreSessions(w.ns).Get(ctx, name, metav1.GetOptions{})
}

// writeFiles writes n files of size bytes each (pseudo-random, so they
// neither compress nor deduplicate) under dir/files, with a fixed mtime,
// and returns their total size.
func writeFiles(t *testing.T, dir string, seed int64, n int, size func(i int) int) int64 {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	mtime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var total int64
	for i := range n {
		p := filepath.Join(dir, "files", fmt.Sprintf("d%d", i%5), fmt.Sprintf("f%03d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size(i))
		rng.Read(data)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		total += int64(len(data))
	}
	return total
}

// runningPod waits for a running pod of rs's Jobs and returns it.
func (w *world) runningPod(t *testing.T, rs string, timeout time.Duration) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	framework.Poll(t, timeout, "a running pod of "+rs, func(ctx context.Context) (bool, string, error) {
		pods, err := w.pods(ctx, rs)
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
				pod = p
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d pods", len(pods)), nil
	})
	return pod
}

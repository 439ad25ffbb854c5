package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/minio/minio-go/v7"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/test/framework"
)

// TestRestoreJobRestoresIntoPVC runs the restore-executor binary the way the
// controller will: as a Job whose pod runs under a service account limited
// to GETs of the named RestoreSession, Snapshot, Repository, BackupStorage
// and Secret plus patches of the RestoreSession's status, with the
// invocation environment, the target PVC mounted at the snapshot's
// hostPath and the local BackupStorage's volume at its mountPath. (The
// controller is not running: the test plays its part.)
//
// It proves that the Job completes, that the PVC's host directory then
// holds exactly the seeded tree, and — from a watch, which sees every
// version of the object — that status.components[pod-0] went through
// Running with progress and ended Succeeded with a duration and complete
// progress.
func TestRestoreJobRestoresIntoPVC(t *testing.T) {
	storageDir := t.TempDir()
	vol := corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: storageDir, Type: ptr.To(corev1.HostPathDirectory)}}
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local:    &storagev1alpha1.LocalSpec{VolumeSource: vol, MountPath: "/safe/data"},
		},
		seedArgs: []string{"--local-storage-dir", storageDir},
		check: func(t *testing.T) {
			if entries, _ := os.ReadDir(filepath.Join(storageDir, "demo", "app")); len(entries) == 0 {
				t.Fatalf("no kopia repository in %s/demo/app after the snapshot", storageDir)
			}
		},
	})
}

// TestRestoreJobRestoresFromS3 is the same with an s3 BackupStorage on a
// real S3 server (versitygw): the executor in the pod reads the access keys
// from the BackupStorage's Secret (which its Role must name) and the
// repository from the bucket under prefix/path.
func TestRestoreJobRestoresFromS3(t *testing.T) {
	gw := framework.StartVersitygw(t)
	const bucket = "restore-e2e"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mc := gw.MakeBucket(ctx, t, bucket)
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3,
			S3: &storagev1alpha1.S3Spec{
				Endpoint: "http://" + gw.Endpoint, Bucket: bucket, Prefix: "cluster-1", SecretName: "s3-credentials",
			},
		},
		secret: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "s3-credentials"},
			StringData: map[string]string{"AWS_ACCESS_KEY_ID": gw.Access, "AWS_SECRET_ACCESS_KEY": gw.Secret},
		},
		check: func(t *testing.T) {
			n := 0
			for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "cluster-1/demo/app/", Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				n++
			}
			if n == 0 {
				t.Fatalf("no kopia repository under s3://%s/cluster-1/demo/app/ after the snapshot", bucket)
			}
		},
	})
}

// TestRestoreJobRestoresFromGCS: a gcs BackupStorage on fake-gcs-server,
// with a KubeStash-style prefix and the service account key Secret (the
// emulator accepts any key; the Job must still read it, so its Role names
// the Secret).
func TestRestoreJobRestoresFromGCS(t *testing.T) {
	gcs := framework.StartFakeGCS(t)
	const bucket = "restore-e2e"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gcs.MakeBucket(ctx, t, bucket)
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderGCS,
			GCS: &storagev1alpha1.GCSSpec{
				Bucket: bucket, Prefix: "/backup/cluster-1", SecretName: "gcs-secret", MaxConnections: 4,
			},
		},
		secret: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "gcs-secret"},
			StringData: map[string]string{storagev1alpha1.GCSServiceAccountJSONKey: framework.FakeServiceAccountKey(t), "GOOGLE_PROJECT_ID": "restore-e2e"},
		},
		env: []corev1.EnvVar{{Name: "STORAGE_EMULATOR_HOST", Value: gcs.URL}},
		check: func(t *testing.T) {
			if n := gcs.CountObjects(ctx, t, bucket, "backup/cluster-1/demo/app/"); n == 0 {
				t.Fatalf("no kopia repository under gs://%s/backup/cluster-1/demo/app/ after the snapshot", bucket)
			}
		},
	})
}

// TestRestoreJobRestoresFromAzure: an azure BackupStorage on Azurite over
// HTTPS, reached through spec.storage.azure.storageDomain, with the account
// key from the BackupStorage's Secret.
func TestRestoreJobRestoresFromAzure(t *testing.T) {
	az := framework.StartAzurite(t)
	const container = "restore-e2e"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	az.MakeContainer(ctx, t, container)
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderAzure,
			Azure: &storagev1alpha1.AzureSpec{
				StorageAccount: framework.AzuriteAccount, Container: container, Prefix: "/backup/cluster-1",
				SecretName: "azure-secret", MaxConnections: 4, StorageDomain: az.StorageDomain,
			},
		},
		secret: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "azure-secret"},
			StringData: map[string]string{storagev1alpha1.AzureAccountKeyKey: framework.AzuriteAccountKey},
		},
		env: []corev1.EnvVar{{Name: "SSL_CERT_FILE", Value: az.CertFile}},
		check: func(t *testing.T) {
			if n := az.CountBlobs(ctx, t, container, "backup/cluster-1/demo/app/"); n == 0 {
				t.Fatalf("no kopia repository under %s/backup/cluster-1/demo/app/ after the snapshot", container)
			}
		},
	})
}

// storageCase is the BackupStorage a restore Job test uses.
type storageCase struct {
	backend storagev1alpha1.Backend
	// secret, if set, is the BackupStorage's credentials Secret.
	secret *corev1.Secret
	// seedArgs are extra arguments of the seeding snapshot subcommand.
	seedArgs []string
	// env is added to the seeding command's and the Job container's
	// environment (an emulator's address, the certificate to trust).
	env []corev1.EnvVar
	// check runs after seeding: the repository is where the storage says.
	check func(t *testing.T)
	// seed, if set, replaces the seeding: it writes the kopia repository
	// and records Snapshot snapshotName with component pod-0 restoring to
	// hostPath, and returns the source directory the restore must equal.
	seed func(t *testing.T, s seedInput) string
	// jobArgs are added to the executor's arguments in the Job.
	jobArgs []string
	// checkRestored, if set, replaces the comparison of the restored tree
	// with the source and also sees the final component status.
	checkRestored func(t *testing.T, src, restored string, final corev1alpha1.ComponentRestoreStatus)
}

// seedInput is what a storageCase.seed needs to know.
type seedInput struct {
	bin, kubeconfig, ns, repository, snapshot, component, hostPath, password string
}

func runRestoreJob(t *testing.T, sc storageCase) {
	cl := needCluster(t)
	bin := needExecutorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	kc := cl.Client()
	rc, err := versioned.NewForConfig(cl.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns := framework.NewNamespace(t, cl, "executor-")

	const (
		storageName   = "backup-storage"
		repoName      = "demo-repo"
		secretName    = "encryption-secret"
		snapshotName  = "demo-repo-snap-1"
		sessionName   = "restore-pvc"
		component     = "pod-0"
		hostPath      = "/restore-e2e/data" // where the snapshot's data came from
		claimName     = "restore-target"
		saName        = "restore-executor"
		password      = "e2e-repository-password"
		jobName       = "restore-pvc-pod-0"
		executorLabel = "restore-e2e"
	)

	// Storage, Repository and its encryption Secret.
	secretNames := []string{secretName}
	if sc.secret != nil {
		secretNames = append(secretNames, sc.secret.Name)
		framework.MustCreate(t, "storage Secret", func() error {
			_, err := kc.CoreV1().Secrets(ns).Create(ctx, sc.secret, metav1.CreateOptions{})
			return err
		})
	}
	framework.MustCreate(t, "Secret", func() error {
		_, err := kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: secretName},
			StringData: map[string]string{"KOPIA_PASSWORD": password},
		}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "BackupStorage", func() error {
		_, err := rc.StorageV1alpha1().BackupStorages(ns).Create(ctx, &storagev1alpha1.BackupStorage{
			ObjectMeta: metav1.ObjectMeta{Name: storageName},
			Spec:       storagev1alpha1.BackupStorageSpec{Storage: sc.backend},
		}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "Repository", func() error {
		_, err := rc.StorageV1alpha1().Repositories(ns).Create(ctx, &storagev1alpha1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: repoName},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef:       common.ObjectReference{Name: storageName, Namespace: ns},
				Path:             "/demo/app",
				EncryptionSecret: &common.ObjectReference{Name: secretName, Namespace: ns},
			},
		}, metav1.CreateOptions{})
		return err
	})

	// Seed: the executor's own snapshot subcommand, run on the host with
	// the admin kubeconfig, writes the kopia snapshot into the storage
	// directory and records the Snapshot object.
	var src string
	if sc.seed != nil {
		src = sc.seed(t, seedInput{bin: bin, kubeconfig: cl.KubeconfigPath(), ns: ns, repository: repoName,
			snapshot: snapshotName, component: component, hostPath: hostPath, password: password})
	} else {
		src = filepath.Join(t.TempDir(), "src")
		framework.WriteEdgeCaseTree(t, src, 48<<20)
		var seedEnv []string
		for _, e := range sc.env {
			seedEnv = append(seedEnv, e.Name+"="+e.Value)
		}
		framework.RunCommand(t, seedEnv, bin, append([]string{"snapshot", "--kubeconfig", cl.KubeconfigPath(), "--namespace", ns,
			"--repository", repoName, "--name", snapshotName,
			"--component", component + "=" + src + ":" + hostPath}, sc.seedArgs...)...)
	}
	snap, err := rc.StorageV1alpha1().Snapshots(ns).Get(ctx, snapshotName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the snapshot subcommand recorded no Snapshot: %v", err)
	}
	if got := snap.Status.Components[component].KopiaStats; len(got) != 1 || got[0].HostPath != hostPath || got[0].SnapshotID == "" {
		t.Fatalf("Snapshot component %s kopiaStats %+v, want one entry with hostPath %s", component, got, hostPath)
	}
	sc.check(t)

	// The RestoreSession the Job reports into, and the target PVC.
	session, err := rc.CoreV1alpha1().RestoreSessions(ns).Create(ctx, &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: sessionName},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claimName, Namespace: ns},
			DataSource: corev1alpha1.RestoreDataSource{
				Repository: repoName, Snapshot: snapshotName, Components: []string{component},
			},
			Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating RestoreSession: %v", err)
	}
	framework.MustCreate(t, "PVC", func() error {
		_, err := kc.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: claimName},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{})
		return err
	})

	// Least privilege: only the named objects, only GET, and PATCH on the
	// one RestoreSession's status.
	framework.MustCreate(t, "ServiceAccount", func() error {
		_, err := kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: saName}}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "Role", func() error {
		_, err := kc.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: saName},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, ResourceNames: []string{sessionName}, Verbs: []string{"get"}},
				{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, ResourceNames: []string{sessionName}, Verbs: []string{"patch"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, ResourceNames: []string{snapshotName}, Verbs: []string{"get"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, ResourceNames: []string{repoName}, Verbs: []string{"get"}},
				{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"backupstorages"}, ResourceNames: []string{storageName}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: secretNames, Verbs: []string{"get"}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "RoleBinding", func() error {
		_, err := kc.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: saName},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: saName},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: saName, Namespace: ns}},
		}, metav1.CreateOptions{})
		return err
	})

	// Watch the RestoreSession from its creation on, so every status
	// version the executor writes is seen, however quickly they follow.
	observed := make(chan []corev1alpha1.ComponentRestoreStatus, 1)
	go func() { observed <- watchComponent(ctx, t, rc, ns, sessionName, component, session.ResourceVersion) }()

	mounts := []corev1.VolumeMount{
		{Name: "target", MountPath: hostPath},
		{Name: "scratch", MountPath: invocation.ScratchDir},
	}
	volumes := []corev1.Volume{
		{Name: "target", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if l := sc.backend.Local; l != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: "storage", MountPath: l.MountPath})
		volumes = append(volumes, corev1.Volume{Name: "storage", VolumeSource: l.VolumeSource})
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": executorLabel}},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            saName,
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					Containers: []corev1.Container{{
						Name:    "executor",
						Image:   executorImage,
						Command: []string{"/restore-executor"},
						// A short interval and one file at a time make several
						// progress writes while the 48 MiB file restores.
						Args: append([]string{"restore", "--progress-interval=50ms", "--" + invocation.ParamParallel + "=1", "-v=2"}, sc.jobArgs...),
						Env: append([]corev1.EnvVar{
							{Name: invocation.EnvNamespace, Value: ns},
							{Name: invocation.EnvRestoreSession, Value: sessionName},
							{Name: invocation.EnvComponent, Value: component},
							{Name: invocation.EnvSnapshot, Value: snapshotName},
							{Name: invocation.EnvTaskName, Value: "logical-backup-restore"},
							{Name: invocation.EnvScratchDir, Value: invocation.ScratchDir},
							{Name: invocation.EnvTargetMountPaths, Value: hostPath},
						}, sc.env...),
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	if _, err := kc.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	framework.Poll(t, 3*time.Minute, "the restore Job to complete", func(ctx context.Context) (bool, string, error) {
		j, err := kc.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if framework.JobCondition(j, batchv1.JobFailed) != nil {
			return false, "", fmt.Errorf("job failed: %+v", j.Status)
		}
		return framework.JobCondition(j, batchv1.JobComplete) != nil, fmt.Sprintf("%+v", j.Status), nil
	})

	// The bytes: the PV's host directory holds exactly the seeded tree.
	claim, err := kc.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claimName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if claim.Spec.VolumeName == "" {
		t.Fatalf("claim %s is not bound after the Job ran", claimName)
	}
	want := framework.ScanTree(t, src)
	if sc.checkRestored == nil {
		framework.ExpectSameTree(t, "the restored PVC", want, cl.VolumeDir(claim.Spec.VolumeName))
	}

	// The status history.
	var history []corev1alpha1.ComponentRestoreStatus
	select {
	case history = <-observed:
	case <-ctx.Done():
		t.Fatal("watch did not finish")
	}
	wantFiles, wantBytes := want.Stats()
	var runningWithProgress, midway int
	var lastBytes, lastFiles int64
	for i, s := range history {
		if s.Progress != nil {
			if s.Progress.RestoredBytes < lastBytes || s.Progress.RestoredFiles < lastFiles {
				t.Errorf("progress went backwards at status version %d:\n%s", i, describeHistory(history))
			}
			lastBytes, lastFiles = s.Progress.RestoredBytes, s.Progress.RestoredFiles
		}
		if s.Phase == corev1alpha1.RestoreRunning && s.Progress != nil && s.Progress.TotalBytes == wantBytes {
			runningWithProgress++
			if s.Progress.RestoredBytes > 0 && s.Progress.RestoredBytes < wantBytes {
				midway++
			}
		}
	}
	t.Logf("observed %d status versions of component %s: %d Running with progress, %d of them part way", len(history), component, runningWithProgress, midway)
	if runningWithProgress == 0 {
		t.Errorf("component %s was never seen Running with progress (totalBytes %d); history:\n%s", component, wantBytes, describeHistory(history))
	}
	if len(history) == 0 {
		t.Fatal("no status of the component was observed")
	}
	final := history[len(history)-1]
	if final.Phase != corev1alpha1.RestoreSucceeded {
		t.Fatalf("final component phase %q (error %q), want Succeeded; history:\n%s", final.Phase, final.Error, describeHistory(history))
	}
	if sc.checkRestored != nil {
		sc.checkRestored(t, src, cl.VolumeDir(claim.Spec.VolumeName), final)
	}
	if d, err := time.ParseDuration(final.Duration); err != nil || d <= 0 {
		t.Errorf("final duration %q: want a positive duration (%v)", final.Duration, err)
	}
	if final.Error != "" {
		t.Errorf("a succeeded component carries error %q", final.Error)
	}
	p := final.Progress
	if p == nil || p.TotalBytes != wantBytes || p.RestoredBytes != wantBytes || p.TotalFiles != wantFiles || p.RestoredFiles != wantFiles || p.Percentage != 100 {
		t.Errorf("final progress %+v, want %d of %d bytes and %d of %d files, 100%%", p, wantBytes, wantBytes, wantFiles, wantFiles)
	}
}

// watchComponent collects every distinct status of the component from
// resourceVersion on until it is Succeeded or Failed (or ctx ends), re-watching
// from the last seen version if the server closes the watch.
func watchComponent(ctx context.Context, t *testing.T, rc versioned.Interface, ns, name, component, rv string) []corev1alpha1.ComponentRestoreStatus {
	var history []corev1alpha1.ComponentRestoreStatus
	for ctx.Err() == nil {
		w, err := rc.CoreV1alpha1().RestoreSessions(ns).Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: rv,
		})
		if err != nil {
			t.Logf("watching RestoreSession: %v", err)
			return history
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				t.Logf("watch error: %v", ev.Object)
				w.Stop()
				return history
			}
			rs, ok := ev.Object.(*corev1alpha1.RestoreSession)
			if !ok {
				continue
			}
			rv = rs.ResourceVersion
			s, ok := rs.Status.Components[component]
			if !ok {
				continue
			}
			history = append(history, s)
			if s.Phase == corev1alpha1.RestoreSucceeded || s.Phase == corev1alpha1.RestoreFailed {
				w.Stop()
				return history
			}
		}
	}
	return history
}

// describeHistory shows one component status a line.
func describeHistory(h []corev1alpha1.ComponentRestoreStatus) string {
	var b strings.Builder
	for _, s := range h {
		b.WriteString("  " + framework.DescribeComponent(s) + "\n")
	}
	return b.String()
}

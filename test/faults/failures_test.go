package faults

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/test/framework"
)

// permanentFailureDeadline bounds a restore that fails on a permanent
// error: one executor pod, no retry.
const permanentFailureDeadline = 90 * time.Second

// expectFailedAtOnce waits for rs to end Failed, checks that its
// component's error holds every fragment, and that its Job failed with
// one pod (a permanent error is not retried). It returns the Failed
// RestoreSession and how long after its pod started it failed.
func (w *world) expectFailedAtOnce(t *testing.T, rs string, fragments ...string) (*corev1alpha1.RestoreSession, time.Duration) {
	t.Helper()
	failed := framework.WaitForPhase(t, restoreClient, w.ns, rs, corev1alpha1.RestoreFailed, permanentFailureDeadline)
	failedAt := time.Now()
	st := failed.Status.Components[component]
	for _, f := range fragments {
		if !strings.Contains(st.Error, f) {
			t.Errorf("%s: component error %q lacks %q", rs, st.Error, f)
		}
	}
	var job batchv1.Job
	framework.Poll(t, 30*time.Second, "the restore Job of "+rs+" to fail", func(ctx context.Context) (bool, string, error) {
		jobs, err := w.jobs(ctx, rs)
		if err != nil || len(jobs) != 1 {
			return false, fmt.Sprintf("%d Jobs (%v)", len(jobs), err), nil
		}
		job = jobs[0]
		return framework.JobCondition(&job, batchv1.JobFailed) != nil, fmt.Sprintf("%+v", job.Status), nil
	})
	if job.Status.Failed != 1 {
		t.Errorf("%s: Job %s failed after %d pods, want 1 (a permanent failure is not retried)", rs, job.Name, job.Status.Failed)
	}
	pods, err := w.pods(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	var sincePod time.Duration
	for _, p := range pods {
		if p.Status.StartTime != nil {
			sincePod = failedAt.Sub(p.Status.StartTime.Time)
		}
	}
	return failed, sincePod
}

// testCorruptedRepository (case 5): bytes flipped in every pack blob of
// the repository. The restore ends Failed naming corruption, never
// Succeeded, and writes nothing but snapshot paths into its target and
// nothing into the repository.
func testCorruptedRepository(t *testing.T) {
	f := startCase(t, 5, "corrupted repository")
	w := newLocalWorld(t)
	src := t.TempDir()
	writeFiles(t, src, 5, 12, func(int) int { return 300 << 10 })
	w.seed(t, "snap", src)
	flipped := 0
	// Pack blobs are named p<hash>; kopia's filesystem storage shards
	// them into directories named after the name's first characters:
	// <repository>/p12/3ab/....f.
	err := filepath.WalkDir(w.storageDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(w.storageDir, p)
		if parts := strings.Split(rel, string(filepath.Separator)); len(parts) < 2 || !strings.HasPrefix(parts[1], "p") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i := len(data) / 3; i < len(data)/3+64 && i < len(data); i++ {
			data[i] ^= 0xff
		}
		flipped++
		return os.WriteFile(p, data, 0o600)
	})
	if err != nil || flipped == 0 {
		t.Fatalf("flipping bytes in pack blobs of %s: %d blobs, %v", w.storageDir, flipped, err)
	}
	f.add("packBlobsCorrupted", flipped)
	before := listFiles(t, w.storageDir)
	w.claim(t, "data")
	w.restore(t, "corrupt", "snap", "data", "")
	failed, _ := w.expectFailedAtOnce(t, "corrupt", "corrupt")
	f.add("message", fmt.Sprintf("%.70q", failed.Status.Components[component].Error))
	want := framework.ScanTree(t, src)
	for rel := range framework.ScanTree(t, framework.ClaimDir(t, c, w.ns, "data")) {
		if _, ok := want[rel]; !ok && rel != "." {
			t.Errorf("the failed restore wrote %s, which the snapshot does not hold", rel)
		}
	}
	if after := listFiles(t, w.storageDir); after != before {
		t.Errorf("the restore changed the repository's files:\nbefore %s\nafter  %s", before, after)
	}
}

// listFiles describes dir's files (path and size), for a comparison.
func listFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			fmt.Fprintf(&b, "%s:%d ", strings.TrimPrefix(p, dir), info.Size())
		}
		return nil
	})
	return b.String()
}

// credentialErrorBound is how soon after its pod starts a restore must
// report a wrong or missing credential.
const credentialErrorBound = 10 * time.Second

// testBadCredentials (case 6): a wrong password, a missing encryption
// Secret, a Secret without the key and storage credentials without the
// key. Each restore ends with a message naming the object and the key:
// Invalid before any Job when the controller can tell, else Failed
// within 10 s of its pod starting, with one pod.
func testBadCredentials(t *testing.T) {
	f := startCase(t, 6, "bad credentials")
	s3 := startS3(t)
	for _, tc := range []struct {
		name string
		// breakIt spoils a seeded world and returns the fragments the
		// message must hold.
		breakIt func(t *testing.T, w *world) []string
		s3      bool
	}{{
		name: "wrong-password",
		breakIt: func(t *testing.T, w *world) []string {
			w.secret(t, encryptionSecret, map[string]string{storagev1alpha1.EncryptionKeyRestic: "not-the-password"})
			return []string{"invalid repository password", fmt.Sprintf("Secret %s/%s", w.ns, encryptionSecret), storagev1alpha1.EncryptionKeyRestic}
		},
	}, {
		name: "missing-encryption-secret",
		breakIt: func(t *testing.T, w *world) []string {
			if err := c.Client().CoreV1().Secrets(w.ns).Delete(context.Background(), encryptionSecret, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			return []string{fmt.Sprintf("%s/%s", w.ns, encryptionSecret)}
		},
	}, {
		name: "missing-key",
		breakIt: func(t *testing.T, w *world) []string {
			w.secret(t, encryptionSecret, map[string]string{"password": password})
			return []string{encryptionSecret, storagev1alpha1.EncryptionKeyRestic}
		},
	}, {
		name: "missing-storage-key",
		s3:   true,
		breakIt: func(t *testing.T, w *world) []string {
			w.secret(t, storageSecretName, map[string]string{storagev1alpha1.S3AccessKeyIDKey: s3.access})
			return []string{fmt.Sprintf("Secret %s/%s", w.ns, storageSecretName), storagev1alpha1.S3SecretAccessKeyKey}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w *world
			if tc.s3 {
				w = newS3World(t, s3.endpoint, s3Credentials(s3))
			} else {
				w = newLocalWorld(t)
			}
			src := t.TempDir()
			writeFiles(t, src, 6, 3, func(int) int { return 4096 })
			w.seed(t, "snap", src)
			fragments := tc.breakIt(t, w)
			w.claim(t, "data")
			w.restore(t, "bad", "snap", "data", "")
			var got *corev1alpha1.RestoreSession
			framework.Poll(t, permanentFailureDeadline, "the restore to end Invalid or Failed", func(ctx context.Context) (bool, string, error) {
				rs, err := w.get(ctx, "bad")
				if err != nil {
					return false, "", err
				}
				got = rs
				return rs.Status.Phase == corev1alpha1.RestoreInvalid || rs.Status.Phase == corev1alpha1.RestoreFailed, framework.DescribeStatus(rs), nil
			})
			if got.Status.Phase == corev1alpha1.RestoreInvalid {
				framework.ExpectConditionMessage(t, got, corev1alpha1.TypeValidationPassed, fragments...)
				if jobs, err := w.jobs(context.Background(), "bad"); err != nil || len(jobs) != 0 {
					t.Errorf("an Invalid restore has %d Jobs (%v)", len(jobs), err)
				}
				f.add(tc.name, "Invalid")
				return
			}
			_, since := w.expectFailedAtOnce(t, "bad", fragments...)
			if since > credentialErrorBound {
				t.Errorf("the restore failed %s after its pod started, want within %s", since, credentialErrorBound)
			}
			f.add(tc.name, fmt.Sprintf("Failed+%.1fs", since.Seconds()))
		})
	}
}

// testTargetFull (case 7): the target PVC is a 4 MiB tmpfs; a restore of
// 8 MiB ends Failed with "no space", with one pod.
func testTargetFull(t *testing.T) {
	f := startCase(t, 7, "target full")
	ctx := context.Background()
	w := newLocalWorld(t)
	src := t.TempDir()
	writeFiles(t, src, 7, 8, func(int) int { return 1 << 20 })
	w.seed(t, "snap", src)

	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	pv := "faults-full-" + w.ns
	class := pv
	framework.MustCreate(t, "PersistentVolume", func() error {
		_, err := c.Client().CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pv},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("4Mi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              class,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
				ClaimRef:                      &corev1.ObjectReference{Namespace: w.ns, Name: "full"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = c.Client().CoreV1().PersistentVolumes().Delete(ctx, pv, metav1.DeleteOptions{}) })
	framework.MustCreate(t, "PersistentVolumeClaim", func() error {
		_, err := c.Client().CoreV1().PersistentVolumeClaims(w.ns).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "full"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(class),
				VolumeName:       pv,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("4Mi")}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	w.restore(t, "full", "snap", "full", "")
	failed, _ := w.expectFailedAtOnce(t, "full", "no space")
	f.add("volume", "4MiB tmpfs")
	f.add("message", fmt.Sprintf("%.70q", failed.Status.Components[component].Error))
}

// testDeadline (case 8): a RestoreSession is Invalid (its Snapshot does
// not exist yet) for longer than its restoreTimeout, then runs a restore
// too slow to finish in time. It ends Failed at the deadline counted from
// when it started running, not from its first sync, and its Job and pod
// are stopped.
func testDeadline(t *testing.T) {
	f := startCase(t, 8, "deadline")
	const timeout = 20 * time.Second
	w := newSlowWorld(t, 16, 512<<10, 128<<10)
	w.claim(t, "data")
	w.restore(t, "slow", "later", "data", "", func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: timeout}
	})
	framework.WaitForPhase(t, restoreClient, w.ns, "slow", corev1alpha1.RestoreInvalid, time.Minute)
	time.Sleep(timeout + 5*time.Second) // Invalid for longer than the timeout
	w.s3.setRate(0)
	w.seed(t, "later", w.src)
	w.s3.setRate(128 << 10)
	var runningAt time.Time
	framework.Poll(t, time.Minute, "the restore to run", func(ctx context.Context) (bool, string, error) {
		rs, err := w.get(ctx, "slow")
		if err != nil {
			return false, "", err
		}
		if rs.Status.Phase == corev1alpha1.RestoreFailed || rs.Status.Phase == corev1alpha1.RestoreSucceeded {
			return false, "", fmt.Errorf("ended %s before running: %s", rs.Status.Phase, framework.DescribeStatus(rs))
		}
		runningAt = time.Now()
		return rs.Status.Phase == corev1alpha1.RestoreRunning, framework.DescribeStatus(rs), nil
	})
	failed := framework.WaitForPhase(t, restoreClient, w.ns, "slow", corev1alpha1.RestoreFailed, timeout+time.Minute)
	f.add("timeout", timeout)
	f.add("failedAfterRunning", time.Since(runningAt).Round(100*time.Millisecond))
	framework.ExpectConditionMessage(t, failed, corev1alpha1.TypeDeadlineExceeded, "spec.restoreTimeout")
	// The controller's times, all from the same clock (second precision):
	// the deadline is timeout after validation passed, which came more
	// than timeout after the RestoreSession was created, and the restore
	// failed at the deadline.
	created := failed.CreationTimestamp.Time
	valid, exceeded := conditionTime(failed, corev1alpha1.TypeValidationPassed), conditionTime(failed, corev1alpha1.TypeDeadlineExceeded)
	if failed.Status.RestoreDeadline == nil || valid.IsZero() || exceeded.IsZero() {
		t.Fatalf("no restoreDeadline, ValidationPassed or DeadlineExceeded time: %s", framework.DescribeStatus(failed))
	}
	deadline := failed.Status.RestoreDeadline.Time
	f.add("invalidFor", valid.Sub(created))
	f.add("deadlineAfterValid", deadline.Sub(valid))
	f.add("failedAfterDeadline", exceeded.Sub(deadline))
	if d := deadline.Sub(valid); d < timeout-time.Second || d > timeout+time.Second {
		t.Errorf("restoreDeadline %s is %s after validation passed (%s), want restoreTimeout %s", deadline, d, valid, timeout)
	}
	if valid.Sub(created) < timeout {
		t.Errorf("validation passed %s after creation, want longer than restoreTimeout %s (the Invalid wait)", valid.Sub(created), timeout)
	}
	if d := exceeded.Sub(deadline); d < 0 || d > 15*time.Second {
		t.Errorf("DeadlineExceeded at %s, %s after restoreDeadline %s, want at the deadline", exceeded, d, deadline)
	}
	stopped := time.Now()
	framework.Poll(t, 15*time.Second, "the restore Job's pods to stop", func(ctx context.Context) (bool, string, error) {
		pods, err := w.pods(ctx, "slow")
		if err != nil {
			return false, "", err
		}
		jobs, err := w.jobs(ctx, "slow")
		if err != nil {
			return false, "", err
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
				running++
			}
		}
		return running == 0, fmt.Sprintf("%d Jobs, %d pods running", len(jobs), running), nil
	})
	f.add("jobsStoppedWithin", time.Since(stopped).Round(100*time.Millisecond))
}

// testDeleteWhileRunning (case 9): a Running RestoreSession that paused a
// BackupConfiguration is deleted: within seconds its Jobs and pods are
// gone, the BackupConfiguration is resumed, and no Role, RoleBinding or
// Job of it is left.
func testDeleteWhileRunning(t *testing.T) {
	f := startCase(t, 9, "delete while running")
	ctx := context.Background()
	w := newSlowWorld(t, 16, 512<<10, 256<<10)
	w.claim(t, "data")
	target := &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"}
	framework.MustCreate(t, "BackupConfiguration", func() error {
		_, err := restoreClient.CoreV1alpha1().BackupConfigurations(w.ns).Create(ctx, &corev1alpha1.BackupConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec:       corev1alpha1.BackupConfigurationSpec{Target: target},
		}, metav1.CreateOptions{})
		return err
	})
	w.restore(t, "doomed", "snap", "data", "")
	w.runningPod(t, "doomed", 2*time.Minute)
	bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(w.ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bc.Spec.Paused {
		t.Errorf("BackupConfiguration nightly is not paused while the restore runs")
	}
	if err := restoreClient.CoreV1alpha1().RestoreSessions(w.ns).Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	selector := metav1.ListOptions{LabelSelector: controller.LabelInvokerName + "=doomed"}
	framework.Poll(t, 15*time.Second, "the deleted restore's Jobs, pods, Roles and pause to go", func(ctx context.Context) (bool, string, error) {
		_, err := w.get(ctx, "doomed")
		gone := apierrors.IsNotFound(err)
		jobs, err := c.Client().BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		pods, err := c.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		roles, err := c.Client().RbacV1().Roles(w.ns).List(ctx, selector)
		if err != nil {
			return false, "", err
		}
		bindings, err := c.Client().RbacV1().RoleBindings(w.ns).List(ctx, selector)
		if err != nil {
			return false, "", err
		}
		bc, err := restoreClient.CoreV1alpha1().BackupConfigurations(w.ns).Get(ctx, "nightly", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		_, marked := bc.Annotations[controller.AnnotationPausedBy]
		seen := fmt.Sprintf("restore gone=%t, %d Jobs, %d pods, %d Roles, %d RoleBindings, backup paused=%t marked=%t",
			gone, len(jobs.Items), len(pods.Items), len(roles.Items), len(bindings.Items), bc.Spec.Paused, marked)
		return gone && len(jobs.Items)+len(pods.Items)+len(roles.Items)+len(bindings.Items) == 0 && !bc.Spec.Paused && !marked, seen, nil
	})
	f.add("cleanedWithin", time.Since(deleted).Round(100*time.Millisecond))
}

// conditionTime is when condition condType last changed (zero if absent).
func conditionTime(rs *corev1alpha1.RestoreSession, condType string) time.Time {
	for _, cond := range rs.Status.Conditions {
		if cond.Type == condType {
			return cond.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

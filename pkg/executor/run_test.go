package executor

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/restore-controller/restore/internal/treetest"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
)

// testPassword opens the kopia repositories of the tests' fake API.
const testPassword = "test-password"

func testContext(t *testing.T) context.Context {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const (
	testNS       = "demo"
	testSession  = "sample-restore"
	testRepoName = "local-repo"
)

// kubeEnv is a fake API with a local BackupStorage, a Repository, its
// encryption Secret and a RestoreSession whose controller set status.phase.
type kubeEnv struct {
	c          Clients
	storageDir string // stands in for the BackupStorage's mountPath
}

func newKubeEnv(t *testing.T, secretData map[string][]byte) kubeEnv {
	t.Helper()
	storageDir := t.TempDir()
	objs := []runtime.Object{
		&storagev1alpha1.BackupStorage{
			ObjectMeta: metav1.ObjectMeta{Name: "local-storage", Namespace: testNS},
			Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
				Provider: storagev1alpha1.ProviderLocal,
				Local:    &storagev1alpha1.LocalSpec{MountPath: "/not/used/in/tests"},
			}},
		},
		&storagev1alpha1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: testRepoName, Namespace: testNS},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef:       common.ObjectReference{Name: "local-storage"},
				Path:             "/demo/app",
				EncryptionSecret: &common.ObjectReference{Name: "encryption-secret"},
				AppRef:           &common.TypedObjectReference{Kind: "StatefulSet", Name: "app"},
			},
		},
		&corev1alpha1.RestoreSession{
			ObjectMeta: metav1.ObjectMeta{Name: testSession, Namespace: testNS},
			Spec: corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{
				Repository: testRepoName, Snapshot: "snap-1",
			}},
			Status: corev1alpha1.RestoreSessionStatus{Phase: corev1alpha1.RestoreRunning, TotalComponents: 2},
		},
	}
	rc := fake.NewClientset()
	for _, o := range objs {
		must(t, rc.Tracker().Add(o))
	}
	kc := kubefake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "encryption-secret", Namespace: testNS},
		Data:       secretData,
	})
	return kubeEnv{c: Clients{Kube: kc, Restore: rc}, storageDir: storageDir}
}

func (e kubeEnv) snapshot(t *testing.T, ctx context.Context, comps ...ComponentSources) *storagev1alpha1.Snapshot {
	t.Helper()
	snap, err := CreateSnapshotObject(ctx, e.c, SnapshotObjectOptions{
		Namespace: testNS, Repository: testRepoName, Name: "snap-1", Components: comps,
		LocalStorageDir: e.storageDir, ScratchDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("CreateSnapshotObject: %v", err)
	}
	return snap
}

func (e kubeEnv) runOpts(t *testing.T, component, target string) RunOptions {
	return RunOptions{
		Namespace: testNS, RestoreSession: testSession, Component: component, Snapshot: "snap-1",
		ScratchDir: t.TempDir(), LocalStorageDir: e.storageDir,
		Restore: engine.RestoreOptions{TargetRoot: target, Parallel: 2, Resume: true, ProgressInterval: time.Millisecond},
	}
}

func (e kubeEnv) session(t *testing.T) *corev1alpha1.RestoreSession {
	t.Helper()
	rs, err := e.c.Restore.CoreV1alpha1().RestoreSessions(testNS).Get(context.Background(), testSession, metav1.GetOptions{})
	must(t, err)
	return rs
}

var goodSecret = map[string][]byte{storagev1alpha1.EncryptionKeyKopia: []byte(testPassword)}

// Two executors of different components restore at the same time; each
// applies only its own status.components entry, so both entries and the
// controller's status.phase survive.
func TestRunRestoreConcurrentComponentsKeepEachOthersStatus(t *testing.T) {
	ctx := testContext(t)
	env := newKubeEnv(t, goodSecret)
	src0, src1 := t.TempDir(), t.TempDir()
	treetest.Write(t, src0, 10)
	treetest.Write(t, src1, 11)
	snap := env.snapshot(t, ctx,
		ComponentSources{Name: "pod-0", Sources: []engine.SnapshotSource{{Dir: src0, HostPath: "/data"}}},
		ComponentSources{Name: "pod-1", Sources: []engine.SnapshotSource{{Dir: src1, HostPath: "/data"}}})
	if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded || snap.Status.TotalComponents != 2 ||
		snap.Labels[storagev1alpha1.LabelRepoName] != testRepoName || snap.Labels[storagev1alpha1.LabelAppRefKind] != "StatefulSet" ||
		snap.Status.Components["pod-1"].Driver != storagev1alpha1.DriverKopia || len(snap.Status.Components["pod-1"].KopiaStats) != 1 {
		t.Fatalf("unexpected Snapshot: %+v", snap)
	}

	targets := map[string]string{"pod-0": t.TempDir(), "pod-1": t.TempDir()}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for comp, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := RunRestore(ctx, env.c, env.runOpts(t, comp, target)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RunRestore: %v", err)
	}
	treetest.Compare(t, src0, filepath.Join(targets["pod-0"], "data"))
	treetest.Compare(t, src1, filepath.Join(targets["pod-1"], "data"))

	rs := env.session(t)
	if rs.Status.Phase != corev1alpha1.RestoreRunning || rs.Status.TotalComponents != 2 {
		t.Errorf("controller-owned status changed: phase %q totalComponents %d", rs.Status.Phase, rs.Status.TotalComponents)
	}
	for comp := range targets {
		cs, ok := rs.Status.Components[comp]
		if !ok {
			t.Fatalf("status.components[%s] missing: %+v", comp, rs.Status.Components)
		}
		if cs.Phase != corev1alpha1.RestoreSucceeded || cs.Duration == "" || cs.Error != "" {
			t.Errorf("%s: %+v, want Succeeded with a duration", comp, cs)
		}
		if p := cs.Progress; p == nil || p.Percentage != 100 || p.TotalBytes == 0 || p.RestoredBytes != p.TotalBytes ||
			p.TotalFiles != treetest.WriteFiles || p.RestoredFiles != treetest.WriteFiles || p.LastUpdateTime == nil || p.Speed == "" {
			t.Errorf("%s: progress %+v", comp, cs.Progress)
		}
	}
	// Each entry is owned by its own field manager.
	managers := map[string]bool{}
	for _, mf := range rs.ManagedFields {
		managers[mf.Manager] = true
	}
	for comp := range targets {
		if !managers["restore-executor/"+comp] {
			t.Errorf("no managed fields for restore-executor/%s: %v", comp, managers)
		}
	}
}

// Failures end in a Failed component status with a clear error and a
// non-nil error from RunRestore (non-zero exit code).
func TestRunRestoreFailuresAreReported(t *testing.T) {
	for _, tc := range []struct {
		name      string
		secret    map[string][]byte
		component string
		wantErr   error
		wantMsg   []string
	}{
		{name: "wrong password", secret: map[string][]byte{storagev1alpha1.EncryptionKeyKopia: []byte("wrong")}, component: "pod-0",
			wantErr: engine.ErrInvalidPassword, wantMsg: []string{"invalid repository password", `the password is key "KOPIA_PASSWORD" of Secret demo/encryption-secret`}},
		{name: "wrong restic password", secret: map[string][]byte{storagev1alpha1.EncryptionKeyRestic: []byte("wrong")}, component: "pod-0",
			wantErr: engine.ErrInvalidPassword, wantMsg: []string{`the password is key "RESTIC_PASSWORD" of Secret demo/encryption-secret`}},
		{name: "restic password key is accepted", secret: map[string][]byte{storagev1alpha1.EncryptionKeyRestic: []byte(testPassword)}, component: "pod-0"},
		{name: "secret without password key", secret: map[string][]byte{"other": []byte("x")}, component: "pod-0",
			wantErr: ErrMissingSecretKey, wantMsg: []string{"demo/encryption-secret", "KOPIA_PASSWORD or RESTIC_PASSWORD"}},
		{name: "secret missing", component: "pod-0",
			wantErr: ErrMissingSecret, wantMsg: []string{"Secret demo/encryption-secret"}},
		{name: "unknown component", secret: goodSecret, component: "pod-9", wantMsg: []string{`no component "pod-9"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			env := newKubeEnv(t, goodSecret)
			src := t.TempDir()
			treetest.Write(t, src, 3)
			env.snapshot(t, ctx, ComponentSources{Name: "pod-0", Sources: []engine.SnapshotSource{{Dir: src, HostPath: "/data"}}})
			// Swap the Secret for the case's (or delete it).
			secrets := env.c.Kube.CoreV1().Secrets(testNS)
			must(t, secrets.Delete(ctx, "encryption-secret", metav1.DeleteOptions{}))
			if tc.secret != nil {
				_, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "encryption-secret", Namespace: testNS}, Data: tc.secret}, metav1.CreateOptions{})
				must(t, err)
			}

			err := RunRestore(ctx, env.c, env.runOpts(t, tc.component, t.TempDir()))
			cs := env.session(t).Status.Components[tc.component]
			if tc.wantErr == nil && tc.wantMsg == nil {
				if err != nil || cs.Phase != corev1alpha1.RestoreSucceeded {
					t.Fatalf("RunRestore: %v, status %+v; want success", err, cs)
				}
				return
			}
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("RunRestore: %v, want %v", err, tc.wantErr)
			}
			if cs.Phase != corev1alpha1.RestoreFailed || Retryable(err) {
				t.Errorf("phase %q (retryable %t), want a permanent failure: Failed", cs.Phase, Retryable(err))
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(cs.Error, m) {
					t.Errorf("status error %q does not mention %q", cs.Error, m)
				}
			}
		})
	}
}

// An attempt that fails with an error a retry may get past (the storage is
// unreachable) leaves the component Running with an "attempt failed"
// error, never Failed; the retried attempt's Succeeded status drops that
// error (same field manager, so the apply removes what it no longer sets).
func TestRunRestoreRetryableFailureKeepsComponentRunning(t *testing.T) {
	ctx := testContext(t)
	env := newKubeEnv(t, goodSecret)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o644))
	env.snapshot(t, ctx, ComponentSources{Name: "pod-0", Sources: []engine.SnapshotSource{{Dir: src, HostPath: "/data"}}})

	o := env.runOpts(t, "pod-0", t.TempDir())
	o.LocalStorageDir = filepath.Join(t.TempDir(), "not-mounted")
	err := RunRestore(ctx, env.c, o)
	if !errors.Is(err, engine.ErrStorageUnreachable) || !Retryable(err) {
		t.Fatalf("RunRestore with unreachable storage: %v, want a retryable engine.ErrStorageUnreachable", err)
	}
	cs := env.session(t).Status.Components["pod-0"]
	if cs.Phase != corev1alpha1.RestoreRunning || !strings.Contains(cs.Error, "attempt failed") ||
		!strings.Contains(cs.Error, "unable to reach the backup storage") || cs.Duration != "" {
		t.Fatalf("after a retryable failure: %+v, want Running with an attempt-failed error and no duration", cs)
	}

	o.LocalStorageDir = env.storageDir
	if err := RunRestore(ctx, env.c, o); err != nil {
		t.Fatalf("retried RunRestore: %v", err)
	}
	cs = env.session(t).Status.Components["pod-0"]
	if cs.Phase != corev1alpha1.RestoreSucceeded || cs.Error != "" || cs.Duration == "" {
		t.Errorf("after the retry: %+v, want Succeeded without the earlier error", cs)
	}
}

// A restore that finished while the API server was unreachable writes its
// final status once the server is back, and succeeds, rather than failing
// its pod for a retry that would restore again.
func TestRunRestoreFinalStatusWaitsForTheAPIServer(t *testing.T) {
	ctx := testContext(t)
	env := newKubeEnv(t, goodSecret)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o644))
	env.snapshot(t, ctx, ComponentSources{Name: "pod-0", Sources: []engine.SnapshotSource{{Dir: src, HostPath: "/data"}}})

	saved := finalStatusBackoff
	finalStatusBackoff.Duration = time.Millisecond
	t.Cleanup(func() { finalStatusBackoff = saved })
	// The attempts of the final status write: the server is down, then it
	// has just started and its authorizer has not read the executor's Role.
	refusals := []error{
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		apierrors.NewForbidden(corev1alpha1.Resource("restoresessions"), testSession, errors.New(`RBAC: role.rbac.authorization.k8s.io "restore-executor" not found`)),
	}
	refused := len(refusals)
	env.c.Restore.(*fake.Clientset).PrependReactor("patch", "restoresessions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if patch := a.(k8stesting.PatchAction).GetPatch(); refused > 0 && strings.Contains(string(patch), string(corev1alpha1.RestoreSucceeded)) {
			refused--
			return true, nil, refusals[len(refusals)-1-refused]
		}
		return false, nil, nil
	})
	if err := RunRestore(ctx, env.c, env.runOpts(t, "pod-0", t.TempDir())); err != nil {
		t.Fatalf("RunRestore while the API server refused the final status %d times: %v", 3, err)
	}
	if refused != 0 {
		t.Errorf("%d refusals left: the final status was not retried", refused)
	}
	if cs := env.session(t).Status.Components["pod-0"]; cs.Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("component %+v, want Succeeded", cs)
	}
}

// Forbidden is waited out only by a restore that ended on its own: a pod
// being stopped (its RestoreSession may be deleted with its Role) writes
// once and exits, while an unreachable server is retried either way.
func TestRetryWhileUnreachable(t *testing.T) {
	saved := finalStatusBackoff
	finalStatusBackoff.Duration = time.Millisecond
	t.Cleanup(func() { finalStatusBackoff = saved })
	forbidden := apierrors.NewForbidden(corev1alpha1.Resource("restoresessions"), testSession, errors.New("role not found"))
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name         string
		retryDenied  bool
		first        error
		wantAttempts int
		wantErr      error
	}{
		{name: "unreachable, restore ended", retryDenied: true, first: refused, wantAttempts: 2},
		{name: "unreachable, pod stopping", retryDenied: false, first: refused, wantAttempts: 2},
		{name: "forbidden, restore ended", retryDenied: true, first: forbidden, wantAttempts: 2},
		{name: "forbidden, pod stopping", retryDenied: false, first: forbidden, wantAttempts: 1, wantErr: forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := 0
			err := retryWhileUnreachable(context.Background(), tt.retryDenied, func() error {
				attempts++
				if attempts == 1 {
					return tt.first
				}
				return nil
			})
			if attempts != tt.wantAttempts || !errors.Is(err, tt.wantErr) {
				t.Errorf("%d attempts, error %v; want %d attempts, error %v", attempts, err, tt.wantAttempts, tt.wantErr)
			}
		})
	}
}

package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/ktesting"

	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	informers "github.com/restore-controller/restore/pkg/generated/informers/externalversions"
	"github.com/restore-controller/restore/test/cluster"
)

// ControllerNamespace and ControllerServiceAccount are where
// artifacts/rbac/controller.yaml puts the controller's identity.
const (
	ControllerNamespace      = "restore-system"
	ControllerServiceAccount = "restore-controller"
)

// InstallControllerRBAC creates the controller's namespace and applies the
// RBAC manifest users install (artifacts/rbac/controller.yaml), so tests run
// the controller with exactly those permissions.
func InstallControllerRBAC(ctx context.Context, admin *rest.Config) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	manifest := filepath.Join(root, "artifacts", "rbac", "controller.yaml")
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllerNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	data, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	applier, err := NewApplier(admin)
	if err != nil {
		return err
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if _, err := applier.Create(ctx, doc); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("applying %s: %w", manifest, err)
		}
	}
	return nil
}

// StartController runs the controller in-process with cfg's identity until
// the returned stop function is called or the test ends. Its logs go to the
// test's log.
func StartController(t testing.TB, cfg *rest.Config, opts controller.Options) (stop func()) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	kubeInformers := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithTweakListOptions(controller.ManagedJobsSelector))
	restoreInformers := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := controller.New(ctx, kube, client, kubeInformers, restoreInformers, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	kubeInformers.Start(ctx.Done())
	restoreInformers.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ctrl.Run(ctx, 2); err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			kubeInformers.Shutdown()
			restoreInformers.Shutdown()
		})
	}
	t.Cleanup(stop)
	return stop
}

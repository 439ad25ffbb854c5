// Command fakeexecutor stands in for the restore executor in the
// controller's end-to-end tests, where what matters is the controller's side
// of the contract (pkg/invocation): it runs in the controller's restore Job
// with the controller-made service account, reads the invocation
// environment, and reports its component through a server-side apply of
// status.components[<component>], as the real executor does. It moves no
// data. --outcome chooses what it does:
//
//	succeed   report Running, then Succeeded, exit 0
//	fail      report Running, then Failed with an error, exit with
//	          invocation.ExitCodePermanentFailure
//	crash     report Running, exit 1 (retryable) without a final report
//	wait      report Running, wait until the RestoreSession carries the
//	          annotation e2e.restore.kubestash.com/release, then succeed
//	hang      report Running, then block until killed
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	applycorev1alpha1 "github.com/restore-controller/restore/pkg/generated/applyconfiguration/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/pkg/invocation"
)

// ReleaseAnnotation lets a "wait" executor finish.
const ReleaseAnnotation = "e2e.restore.kubestash.com/release"

func main() {
	outcome := flag.String("outcome", "succeed", "succeed, fail, crash, wait or hang")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *outcome); err != nil {
		fmt.Fprintln(os.Stderr, "fakeexecutor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, outcome string) error {
	ns, name, comp := os.Getenv(invocation.EnvNamespace), os.Getenv(invocation.EnvRestoreSession), os.Getenv(invocation.EnvComponent)
	if ns == "" || name == "" || comp == "" {
		return fmt.Errorf("missing invocation environment: %s=%q %s=%q %s=%q",
			invocation.EnvNamespace, ns, invocation.EnvRestoreSession, name, invocation.EnvComponent, comp)
	}
	fmt.Printf("restoring component %s of %s/%s from snapshot %s (task %s, target mounts %q)\n", comp, ns, name,
		os.Getenv(invocation.EnvSnapshot), os.Getenv(invocation.EnvTaskName), os.Getenv(invocation.EnvTargetMountPaths))
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Reading the RestoreSession is part of the executor's permissions.
	if _, err := client.CoreV1alpha1().RestoreSessions(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("reading the RestoreSession: %w", err)
	}
	start := time.Now()
	report := func(phase corev1alpha1.RestorePhase, errMsg string) error {
		entry := applycorev1alpha1.ComponentRestoreStatus().WithPhase(phase)
		if phase != corev1alpha1.RestoreRunning {
			entry.WithDuration(time.Since(start).Round(time.Millisecond).String())
		}
		if errMsg != "" {
			entry.WithError(errMsg)
		}
		apply := applycorev1alpha1.RestoreSession(name, ns).WithStatus(applycorev1alpha1.RestoreSessionStatus().
			WithComponents(map[string]applycorev1alpha1.ComponentRestoreStatusApplyConfiguration{comp: *entry}))
		_, err := client.CoreV1alpha1().RestoreSessions(ns).ApplyStatus(ctx, apply, metav1.ApplyOptions{
			FieldManager: invocation.FieldManagerForComponent(comp), Force: true,
		})
		return err
	}
	if err := report(corev1alpha1.RestoreRunning, ""); err != nil {
		return fmt.Errorf("reporting Running: %w", err)
	}
	switch outcome {
	case "succeed":
	case "fail":
		if err := report(corev1alpha1.RestoreFailed, "simulated restore failure"); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "fakeexecutor: simulated restore failure")
		os.Exit(invocation.ExitCodePermanentFailure)
	case "crash":
		return fmt.Errorf("simulated crash before the final report")
	case "wait":
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			rs, err := client.CoreV1alpha1().RestoreSessions(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return rs.Annotations[ReleaseAnnotation] != "", nil
		})
		if err != nil {
			return err
		}
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	default:
		return fmt.Errorf("unknown outcome %q", outcome)
	}
	return report(corev1alpha1.RestoreSucceeded, "")
}

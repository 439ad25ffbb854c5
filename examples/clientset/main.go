// Command clientset shows how to use the generated clientset from Go: it
// creates a RestoreSession like the reference's sample (restore components
// pod-0 and pod-2 of the latest Snapshot of Repository gcs-demo-repo into
// StatefulSet restore-sts), then polls it until it ends and prints each
// component's result.
//
// After `make demo`, restore the same data again with
//
//	KUBECONFIG=_output/localcluster/kubeconfig go run ./examples/clientset --name restore-from-go
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	namespace := flag.String("namespace", "demo", "namespace of the RestoreSession, its target and its Repository")
	name := flag.String("name", "restore-from-go", "name of the RestoreSession to create")
	timeout := flag.Duration("timeout", 10*time.Minute, "how long to wait for the restore")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rs, err := restore(ctx, client, newRestoreSession(*namespace, *name))
	if err != nil {
		fail(err)
	}
	fmt.Printf("RestoreSession %s/%s: %s in %s\n", rs.Namespace, rs.Name, rs.Status.Phase, rs.Status.Duration)
	names := make([]string, 0, len(rs.Status.Components))
	for c := range rs.Status.Components {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		st := rs.Status.Components[c]
		fmt.Printf("  %s: %s %s %s\n", c, st.Phase, st.Duration, st.Error)
	}
	if rs.Status.Phase != corev1alpha1.RestoreSucceeded {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// newRestoreSession is the reference's sample-restore, by another name.
func newRestoreSession(namespace, name string) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{
				APIGroup: "apps", Kind: "StatefulSet", Namespace: namespace, Name: "restore-sts",
			},
			DataSource: corev1alpha1.RestoreDataSource{
				Repository:       "gcs-demo-repo",
				Snapshot:         corev1alpha1.SnapshotLatest,
				Components:       []string{"pod-0", "pod-2"},
				EncryptionSecret: &common.ObjectReference{Namespace: namespace, Name: "encrypt-secret"},
			},
			Addon: corev1alpha1.AddonInfo{
				Name:  "workload-addon",
				Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}},
			},
			RestoreTimeout: &metav1.Duration{Duration: 30 * time.Minute},
		},
	}
}

// restore creates rs and returns it once its phase is Succeeded or Failed.
func restore(ctx context.Context, client versioned.Interface, rs *corev1alpha1.RestoreSession) (*corev1alpha1.RestoreSession, error) {
	sessions := client.CoreV1alpha1().RestoreSessions(rs.Namespace)
	if _, err := sessions.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating RestoreSession: %w", err)
	}
	var last *corev1alpha1.RestoreSession
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := sessions.Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = got
		switch got.Status.Phase {
		case corev1alpha1.RestoreSucceeded, corev1alpha1.RestoreFailed:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		phase := corev1alpha1.RestorePhase("")
		if last != nil {
			phase = last.Status.Phase
		}
		return nil, fmt.Errorf("waiting for RestoreSession %s/%s (phase %q): %w", rs.Namespace, rs.Name, phase, err)
	}
	return last, nil
}

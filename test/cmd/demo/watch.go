package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/restoreview"
)

// runWatch follows a RestoreSession until it Succeeded or Failed with the
// follower of `kubectl restore watch` (pkg/restoreview), printing what
// changed line by line: the phase, each condition, each component's phase
// and progress. Invalid is not final (the controller proceeds once a
// missing object appears), so it is printed and waited through until the
// timeout.
func runWatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	kubeconfig := kubeconfigFlag(fs)
	ns := fs.String("namespace", "", "namespace of the RestoreSession")
	name := fs.String("name", "", "RestoreSession name")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if err := parse(fs, args, "namespace", "name"); err != nil {
		return err
	}
	c, err := newClients(*kubeconfig)
	if err != nil {
		return err
	}
	get := func(ctx context.Context) (*corev1alpha1.RestoreSession, error) {
		return c.restore.CoreV1alpha1().RestoreSessions(*ns).Get(ctx, *name, metav1.GetOptions{})
	}
	start := time.Now()
	rs, err := restoreview.Follow(ctx, get, restoreview.FollowOptions{Out: os.Stdout, Timeout: *timeout})
	if err != nil {
		return fmt.Errorf("RestoreSession %s/%s: %w", *ns, *name, err)
	}
	fmt.Printf("  RestoreSession %s/%s %s after %.1fs\n", *ns, *name, rs.Status.Phase, time.Since(start).Seconds())
	if rs.Status.Phase != corev1alpha1.RestoreSucceeded {
		return fmt.Errorf("restore %s", rs.Status.Phase)
	}
	return nil
}

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

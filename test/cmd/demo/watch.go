package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// runWatch follows a RestoreSession until it Succeeded or Failed, printing
// what changed: the phase, each condition, each component's phase and
// progress. Invalid is not final (the controller proceeds once a missing
// object appears), so it is printed and waited through until the timeout.
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

	start := time.Now()
	seen := map[string]string{} // what was last printed per key
	show := func(key, line string) {
		if seen[key] != line {
			seen[key] = line
			fmt.Printf("  [%s] %s\n", elapsed(start), line)
		}
	}
	var final corev1alpha1.RestorePhase
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, *timeout, true, func(ctx context.Context) (bool, error) {
		rs, err := c.restore.CoreV1alpha1().RestoreSessions(*ns).Get(ctx, *name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			show("phase", "RestoreSession not created yet")
			return false, nil
		}
		if err != nil {
			show("error", "get: "+err.Error())
			return false, nil // the apiserver may be busy; try again until the deadline
		}
		st := rs.Status
		phase := st.Phase
		if phase == "" {
			phase = "(none yet)"
		}
		show("phase", fmt.Sprintf("phase %s, %d component(s)", phase, st.TotalComponents))
		for _, d := range st.Dependencies {
			if d.Kind == "Snapshot" && d.Found {
				show("snapshot", fmt.Sprintf("snapshot %q resolved to %s", rs.Spec.DataSource.Snapshot, d.Name))
			}
		}
		for _, c := range st.Conditions {
			line := fmt.Sprintf("condition %s=%s (%s)", c.Type, c.Status, c.Reason)
			if c.Status != metav1.ConditionTrue || c.Type == corev1alpha1.TypeRestoreIncomplete {
				line += ": " + c.Message
			}
			show("condition "+c.Type, line)
		}
		names := make([]string, 0, len(st.Components))
		for n := range st.Components {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			show("component "+n, componentLine(n, st.Components[n]))
		}
		switch st.Phase {
		case corev1alpha1.RestoreSucceeded, corev1alpha1.RestoreFailed:
			final = st.Phase
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("RestoreSession %s/%s did not finish within %v (last: %s)", *ns, *name, *timeout, seen["phase"])
	}
	fmt.Printf("  RestoreSession %s/%s %s after %.1fs\n", *ns, *name, final, time.Since(start).Seconds())
	if final != corev1alpha1.RestoreSucceeded {
		return fmt.Errorf("restore %s", final)
	}
	return nil
}

func componentLine(name string, c corev1alpha1.ComponentRestoreStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", name, c.Phase)
	if p := c.Progress; p != nil {
		fmt.Fprintf(&b, " %d%% (%s of %s, %d/%d files", p.Percentage, mib(p.RestoredBytes), mib(p.TotalBytes), p.RestoredFiles, p.TotalFiles)
		if p.Speed != "" {
			fmt.Fprintf(&b, ", %s", p.Speed)
		}
		if p.ETA != "" && c.Phase == corev1alpha1.RestoreRunning {
			fmt.Fprintf(&b, ", ETA %s", p.ETA)
		}
		b.WriteString(")")
	}
	if c.Duration != "" {
		fmt.Fprintf(&b, " in %s", c.Duration)
	}
	if c.Error != "" {
		fmt.Fprintf(&b, ", error: %s", c.Error)
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

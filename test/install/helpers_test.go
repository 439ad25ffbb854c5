package install

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/internal/fstree"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/test/framework"
)

// kubectl runs kubectl against the local cluster with stdin as its input
// and returns its combined output; a failure fails the test.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := tryKubectl(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tryKubectl(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", c.KubeconfigPath()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apply applies YAML documents with `kubectl apply -f -`.
func apply(t *testing.T, yaml string) {
	t.Helper()
	kubectl(t, yaml, "apply", "-f", "-")
}

// newNamespace creates a namespace named prefix plus a random suffix with
// kubectl and deletes it when the test ends.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := strings.TrimSpace(kubectl(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  generateName: %s-\n", prefix),
		"create", "-f", "-", "-o", "jsonpath={.metadata.name}"))
	t.Cleanup(func() { _, _ = tryKubectl("", "delete", "namespace", ns, "--wait=false") })
	framework.LogsOnFailure(t, c, ns)
	return ns
}

// restoreClient is the generated clientset, used only to read status.
func restoreClient(t *testing.T) versioned.Interface {
	t.Helper()
	client, err := versioned.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// waitForPhase polls the RestoreSession until it reaches phase. Reaching
// another final phase first fails at once, with the status.
func waitForPhase(t *testing.T, ns, name string, phase corev1alpha1.RestorePhase) *corev1alpha1.RestoreSession {
	t.Helper()
	client := restoreClient(t)
	var rs *corev1alpha1.RestoreSession
	framework.Poll(t, 3*time.Minute, fmt.Sprintf("RestoreSession %s/%s to be %s", ns, name, phase), func(ctx context.Context) (bool, string, error) {
		got, err := client.CoreV1alpha1().RestoreSessions(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		rs = got
		seen := describe(got)
		switch p := got.Status.Phase; {
		case p == phase:
			return true, seen, nil
		case p == corev1alpha1.RestoreSucceeded || p == corev1alpha1.RestoreFailed || p == corev1alpha1.RestoreInvalid:
			return false, seen, fmt.Errorf("ended %s: %s", p, seen)
		}
		return false, seen, nil
	})
	return rs
}

func describe(rs *corev1alpha1.RestoreSession) string {
	s := fmt.Sprintf("phase=%s progress=%q", rs.Status.Phase, rs.Status.Progress)
	for _, cond := range rs.Status.Conditions {
		s += fmt.Sprintf(" %s=%s(%s)", cond.Type, cond.Status, cond.Message)
	}
	for name, comp := range rs.Status.Components {
		s += fmt.Sprintf(" %s:%s(%s)", name, comp.Phase, comp.Error)
	}
	return s
}

// restoreColumns returns the cells of `kubectl get restore` for one
// RestoreSession, keyed by column header. Cells may contain spaces
// ("2/3 components, 67%"), so they are cut at the header's column starts.
func restoreColumns(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	out := kubectl(t, "", "get", "restore", "-n", ns, name)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get restore: want a header and one row, got:\n%s", out)
	}
	header, row := lines[0], lines[1]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	cells := map[string]string{}
	for i, start := range starts {
		end := len(row)
		if i+1 < len(starts) {
			end = min(starts[i+1], len(row))
		}
		name := strings.TrimSpace(header[start:min(end, len(header))])
		if start < len(row) {
			cells[name] = strings.TrimSpace(row[start:end])
		} else {
			cells[name] = ""
		}
	}
	return cells
}

// freePort returns a TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// expectSameTree fails the test unless got holds exactly want's tree.
func expectSameTree(t *testing.T, what string, want fstree.Tree, gotDir string) {
	t.Helper()
	if d := fstree.Diff(want, framework.ScanTree(t, gotDir), fstree.Options{}); len(d) > 0 {
		t.Errorf("%s differs from the snapshot's source:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// claimDir is the host directory of a bound PVC's volume.
func claimDir(t *testing.T, ns, claim string) string {
	t.Helper()
	pv := strings.TrimSpace(kubectl(t, "", "get", "pvc", "-n", ns, claim, "-o", "jsonpath={.spec.volumeName}"))
	if pv == "" {
		t.Fatalf("PVC %s/%s is not bound", ns, claim)
	}
	return c.VolumeDir(pv)
}

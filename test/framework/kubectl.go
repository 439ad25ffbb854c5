package framework

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kubectlTimeout bounds one kubectl run; the longest are applies of
// artifacts/ and `kubectl wait`s with their own shorter timeouts.
const kubectlTimeout = 3 * time.Minute

// Kubectl runs the kubectl on PATH against the cluster of the kubeconfig
// file, with stdin as its input, and returns its combined output. A
// failure's error names the command and carries the output.
func Kubectl(kubeconfig, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// MustKubectl is Kubectl failing the test when kubectl fails.
func MustKubectl(t testing.TB, kubeconfig, stdin string, args ...string) string {
	t.Helper()
	out, err := Kubectl(kubeconfig, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

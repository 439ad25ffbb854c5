package install

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/test/framework"
)

// TestKubectlPlugin runs `kubectl restore watch`, `describe` and `logs`
// (cmd/kubectl-restore, which TestMain puts on PATH for kubectl to find)
// against a PVC restore by the installed controller.
func TestKubectlPlugin(t *testing.T) {
	t.Parallel()
	install(t)
	ns, want := pvcWorld(t, "plugin", 70)
	apply(t, pvcRestore(ns, "plugin-restore", "pvc-addon", "{repository: repo, snapshot: snap}", ""))

	// watch follows the restore until it ends; not on a terminal, it
	// prints each change on its own line.
	out := kubectlRestore(t, "watch", "plugin-restore", "-n", ns, "--timeout", restoreTimeout.String())
	for _, line := range []string{
		"phase Succeeded, 1 component(s)",
		"dump: Succeeded 100%",
		"RestoreSession " + ns + "/plugin-restore Succeeded after ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("kubectl restore watch: output lacks %q:\n%s", line, out)
		}
	}
	framework.ExpectSameTree(t, "the PVC", want, framework.ClaimDir(t, c, ns, "restore-pvc"))

	out = kubectlRestore(t, "describe", "plugin-restore", "-n", ns)
	for _, line := range []string{
		"Phase:        Succeeded",
		"Target:       PersistentVolumeClaim " + ns + "/restore-pvc",
		"Repository:         " + ns + "/repo",
		"Snapshot:           snap",
		"Addon:        pvc-addon",
		"Components (1 of 1 reported):",
		"  dump  Succeeded  100% ",
		controller.EventReasonRestoreJobCreated,
		controller.EventReasonRestoreSucceeded,
	} {
		if !strings.Contains(out, line) {
			t.Errorf("kubectl restore describe: output lacks %q:\n%s", line, out)
		}
	}

	// The executor's log. The local cluster's process kubelet serves no
	// container logs (README, The local cluster), so the request the plugin
	// makes for the dump Job's pod and container is what can be checked:
	// the API server forwards it and the kubelet's address fails.
	out, err := tryKubectlRestore("logs", "plugin-restore", "dump", "-n", ns)
	if err == nil {
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, "[dump restore-plugin-restore-dump-") {
				t.Errorf("kubectl restore logs: line %q lacks the [dump POD] prefix", l)
			}
		}
	} else if !strings.Contains(out, "logs of pod restore-plugin-restore-dump-") || !strings.Contains(out, "container logical-backup-restore-0") {
		t.Errorf("kubectl restore logs: %v, want the dump Job's pod's log:\n%s", err, out)
	}
	if out, err := tryKubectlRestore("logs", "plugin-restore", "no-such-component", "-n", ns); err == nil ||
		!strings.Contains(out, `no restore Job of component "no-such-component" (components with Jobs: dump)`) {
		t.Errorf("kubectl restore logs of an unknown component: err = %v, output %q, want an error naming the known components", err, out)
	}
}

// kubectlRestore runs `kubectl restore ARGS...`: kubectl refuses flags
// before a plugin's name, so the kubeconfig comes after the arguments.
func kubectlRestore(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tryKubectlRestore(args...)
	if err != nil {
		t.Fatalf("kubectl restore %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tryKubectlRestore(args ...string) (string, error) {
	cmd := exec.Command("kubectl", append(append([]string{"restore"}, args...), "--kubeconfig", c.KubeconfigPath())...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

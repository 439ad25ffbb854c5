package install

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/framework"
)

const controllerNS = "restore-system"

// installation is what installing artifacts/ left to check.
type installation struct {
	// installOutput is the output of installCommand.
	installOutput string
	dryRun        string // output of `kubectl apply -k artifacts/ --dry-run=server`
	// metricsURL and healthURL reach the controller pod. Pods share the
	// host's network here, so the install moves its ports to free ones with
	// a kustomize overlay instead of 8080 and 8081.
	metricsURL, healthURL string
}

var installed framework.Once[*installation]

// install installs artifacts/ once per test binary, as a user would, and
// returns when the controller Deployment is Available and its replica
// holds the leader Lease. Every test that restores calls it first.
func install(t *testing.T) *installation {
	t.Helper()
	return installed.Do(t, "installing artifacts/", doInstall)
}

// installCommand is the one command README.md tells a new user to install
// with, run as it is from the repository's root (hack/demo.sh runs it
// too). The CRDs go first and are waited for: kubectl maps every object
// of one apply before sending any, so the addon catalog cannot be applied
// in the run that creates its CRDs.
const installCommand = "kubectl apply -k artifacts/crds && kubectl wait --for=condition=Established --timeout=60s -f artifacts/crds && kubectl apply -k artifacts/"

// runInstallCommand runs installCommand in a shell against the test
// cluster, on the cluster as it is (a fresh one: nothing of the project
// installed before).
func runInstallCommand() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", installCommand)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("the README's install command %q failed on a fresh cluster: %v\n%s", installCommand, err, out)
	}
	return string(out), nil
}

func doInstall() (*installation, error) {
	artifacts := filepath.Join(repoRoot, "artifacts")
	inst := &installation{}

	// A new user's install, on the first try.
	var err error
	if inst.installOutput, err = runInstallCommand(); err != nil {
		return nil, err
	}
	// A server-side dry run of the installed artifacts/ admits every object
	// as a real apply would (schemas, CEL rules, PodSecurity of
	// restore-system).
	if inst.dryRun, err = tryKubectl("", "apply", "-k", artifacts, "--dry-run=server"); err != nil {
		return nil, err
	}

	// Pods share the host's network here: an overlay moves the
	// controller's ports to free ones (the install above started it on
	// 8080 and 8081, which another cluster on this host may hold).
	overlay, err := os.MkdirTemp("", "install-overlay-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(overlay)
	base, err := filepath.Rel(overlay, artifacts) // kustomize refuses absolute bases
	if err != nil {
		return nil, err
	}
	metricsAddr, err := framework.FindFreeAddress()
	if err != nil {
		return nil, err
	}
	healthAddr, err := framework.FindFreeAddress()
	if err != nil {
		return nil, err
	}
	inst.metricsURL, inst.healthURL = "http://"+metricsAddr, "http://"+healthAddr
	kustomization := fmt.Sprintf(`resources:
- %s
patches:
- target: {kind: Deployment, name: restore-controller}
  patch: |
    - op: replace
      path: /spec/template/spec/containers/0/args
      value: [--leader-elect=true, --metrics-bind-address=%s, --health-probe-bind-address=%s]
`, base, metricsAddr, healthAddr)
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		return nil, err
	}
	if _, err := tryKubectl("", "apply", "-k", overlay); err != nil {
		return nil, err
	}
	// The overlay's pod replaces the install's: wait for the rollout, not
	// just for an available replica.
	if _, err := tryKubectl("", "rollout", "status", "-n", controllerNS, "deployment/restore-controller", "--timeout=120s"); err != nil {
		return nil, err
	}
	return inst, waitForLeader()
}

// waitForLeader waits until the installed replica holds the Lease
// "restore-controller" and renews it, and its /readyz answers: the leader
// is ready once its informer caches synced.
func waitForLeader() error {
	var first *metav1.MicroTime
	var seen string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		lease, err := c.Client().CoordinationV1().Leases(controllerNS).Get(ctx, "restore-controller", metav1.GetOptions{})
		if err != nil {
			seen = err.Error()
			return false, nil
		}
		holder, renew := ptr.Deref(lease.Spec.HolderIdentity, ""), lease.Spec.RenewTime
		seen = fmt.Sprintf("holder %q renewed %v", holder, renew)
		if holder == "" || renew == nil {
			return false, nil
		}
		if first == nil {
			first = renew
			return false, nil
		}
		return renew.After(first.Time), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the controller to hold and renew Lease %s/restore-controller: %w; last seen: %s\ncontroller log:\n%s",
			controllerNS, err, seen, controllerLog())
	}
	return nil
}

// controllerLog is the output of the installed controller's container.
func controllerLog() string {
	pods, err := c.Client().CoreV1().Pods(controllerNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=restore-controller"})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "--- pod %s (%s)\n%s", p.Name, p.Status.Phase, c.ContainerLog(controllerNS, p.Name, "controller"))
	}
	return b.String()
}

// TestInstall checks what `kubectl apply -k artifacts/` installed: the
// server-side dry run admitted every object, the controller runs as the
// Deployment with the security settings users were promised, serves
// health and metrics, and the addon catalog is in place.
func TestInstall(t *testing.T) {
	inst := install(t)
	t.Logf("%s:\n%s", installCommand, inst.installOutput)
	t.Logf("kubectl apply -k artifacts/ --dry-run=server:\n%s", inst.dryRun)
	// The one command created the CRDs and, in the same run, the catalog
	// that needs them; the README and the demo say and run that command.
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/addons.addons.kubestash.com created",
		"customresourcedefinition.apiextensions.k8s.io/addons.addons.kubestash.com condition met",
		"addon.addons.kubestash.com/pvc-addon created",
		"function.addons.kubestash.com/kopia-restore created",
		"deployment.apps/restore-controller created",
	} {
		if !strings.Contains(inst.installOutput, want) {
			t.Errorf("install command output lacks %q:\n%s", want, inst.installOutput)
		}
	}
	for _, doc := range []string{"README.md", "hack/demo.sh", "artifacts/kustomization.yaml"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot, doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), installCommand) {
			t.Errorf("%s does not give the install command this test runs: %s", doc, installCommand)
		}
	}
	ctx := context.Background()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller log:\n%s", controllerLog())
		}
	})

	for _, obj := range []string{
		"customresourcedefinition.apiextensions.k8s.io/restoresessions.core.kubestash.com",
		"namespace/restore-system",
		"serviceaccount/restore-controller",
		"clusterrole.rbac.authorization.k8s.io/restore-controller",
		"clusterrolebinding.rbac.authorization.k8s.io/restore-controller",
		"role.rbac.authorization.k8s.io/restore-controller-leader-election",
		"rolebinding.rbac.authorization.k8s.io/restore-controller-leader-election",
		"clusterrole.rbac.authorization.k8s.io/restore-controller-view",
		"clusterrole.rbac.authorization.k8s.io/restore-controller-edit",
		"validatingadmissionpolicy.admissionregistration.k8s.io/restore-controller-restoresession-permissions",
		"validatingadmissionpolicybinding.admissionregistration.k8s.io/restore-controller-restoresession-permissions",
		"service/restore-controller-metrics",
		"deployment.apps/restore-controller",
		"function.addons.kubestash.com/kopia-restore",
		"function.addons.kubestash.com/volumesnapshot-restore",
		"addon.addons.kubestash.com/workload-addon",
		"addon.addons.kubestash.com/pvc-addon",
	} {
		if !strings.Contains(inst.dryRun, obj+" ") {
			t.Errorf("dry run did not admit %s:\n%s", obj, inst.dryRun)
		}
	}
	if !strings.Contains(inst.dryRun, "(server dry run)") || strings.Contains(inst.dryRun, "Warning") {
		t.Errorf("dry run output is not a clean server dry run:\n%s", inst.dryRun)
	}

	dep, err := c.Client().AppsV1().Deployments(controllerNS).Get(ctx, "restore-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	if ctr.Image != controllerImage {
		t.Errorf("controller image = %q, want %q", ctr.Image, controllerImage)
	}
	// runAsNonRoot, seccomp and dropped capabilities are enforced by the
	// namespace's restricted Pod Security level, which admitted the pod.
	if sc := ctr.SecurityContext; sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) {
		t.Errorf("controller container has no read-only root filesystem: %+v", ctr.SecurityContext)
	}
	if ns, _ := c.Client().CoreV1().Namespaces().Get(ctx, controllerNS, metav1.GetOptions{}); ns == nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce the restricted Pod Security level", controllerNS)
	}
	if ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" ||
		ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("controller probes are not /healthz and /readyz: liveness %+v readiness %+v", ctr.LivenessProbe, ctr.ReadinessProbe)
	}
	if ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
		t.Errorf("controller has no CPU request or memory limit: %+v", ctr.Resources)
	}

	// The Service selects the controller's pod and names the metrics port.
	svc, err := c.Client().CoreV1().Services(controllerNS).Get(ctx, "restore-controller-metrics", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("metrics Service ports = %+v, want one port 8080 named metrics", svc.Spec.Ports)
	}
	pods, err := c.Client().CoreV1().Pods(controllerNS).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
		t.Errorf("metrics Service selects %d pods, want the one running controller", len(pods.Items))
	} else if env := envValue(pods.Items[0].Spec.Containers[0].Env, "POD_NAMESPACE"); env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil {
		t.Errorf("controller pod gets no POD_NAMESPACE from the downward API")
	}

	framework.Poll(t, 30*time.Second, "the controller's /healthz and /readyz", func(ctx context.Context) (bool, string, error) {
		for _, path := range []string{"/healthz", "/readyz"} {
			code, body, err := framework.HTTPGet(inst.healthURL + path)
			if err != nil || code != http.StatusOK {
				return false, fmt.Sprintf("%s: %d %s %v", path, code, body, err), nil
			}
		}
		return true, "", nil
	})
	code, body, err := framework.HTTPGet(inst.metricsURL + "/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "workqueue_adds_total") {
		t.Errorf("GET /metrics: %d %v; want workqueue metrics, got:\n%.500s", code, err, body)
	}

	// The catalog runs the installed executor image.
	if got := kubectl(t, "", "get", "function", "kopia-restore", "-o", "jsonpath={.spec.image}"); got != executorImage {
		t.Errorf("Function kopia-restore image = %q, want %q", got, executorImage)
	}
	for _, fn := range []string{"kopia-manifest-restore", "volumesnapshot-restore"} {
		if got := kubectl(t, "", "get", "function", fn, "-o", "jsonpath={.spec.image}"); got != executorImage {
			t.Errorf("Function %s image = %q, want %q", fn, got, executorImage)
		}
	}
	for addon, want := range map[string]string{
		"workload-addon": "logical-backup-restore",
		// volume-snapshot-restore, and the docs' older name for it.
		"pvc-addon": "logical-backup-restore volume-snapshot-restore VolumeSnapshotRestore",
	} {
		if got := kubectl(t, "", "get", "addon", addon, "-o", "jsonpath={.spec.restoreTasks[*].name}"); got != want {
			t.Errorf("Addon %s restore tasks = %q, want %q", addon, got, want)
		}
	}
}

func envValue(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

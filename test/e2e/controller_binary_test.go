package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// controllerProcess is one replica of the restore-controller binary.
type controllerProcess struct {
	cmd                  *exec.Cmd
	log                  string
	metricsURL, probeURL string
	exited               chan error
}

func (p *controllerProcess) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// TestControllerBinary runs two replicas of cmd/restore-controller with the
// service account of artifacts/rbac: one leads through the Lease and
// restores, both serve health endpoints, the leader's /metrics counts the
// restore and its API requests, and when the leader stops on SIGTERM the
// other takes over.
func TestControllerBinary(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := framework.BuildBinary(dir, "github.com/restore-controller/restore/cmd/restore-controller")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, kubeconfig)

	start := func(name string) *controllerProcess {
		metricsAddr, probeAddr := framework.FreeAddress(t), framework.FreeAddress(t)
		p := &controllerProcess{
			log:        filepath.Join(dir, name+".log"),
			metricsURL: "http://" + metricsAddr + "/metrics",
			probeURL:   "http://" + probeAddr,
			exited:     make(chan error, 1),
		}
		logFile, err := os.Create(p.log)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd = exec.Command(bin, "--kubeconfig", kubeconfig,
			"--leader-election-namespace", framework.ControllerNamespace,
			"--leader-election-id", "restore-controller-e2e",
			"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms",
			"--metrics-bind-address", metricsAddr,
			"--health-probe-bind-address", probeAddr,
			"--target-poll-interval", "500ms", "--executor-backoff-limit", "0")
		p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.exited <- p.cmd.Wait(); _ = logFile.Close() }()
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			<-p.exited
			if t.Failed() {
				t.Logf("%s log:\n%s", name, p.logText())
			}
		})
		return p
	}
	replicas := []*controllerProcess{start("replica-a"), start("replica-b")}

	const leading = "Starting RestoreSession controller"
	var leader, standby *controllerProcess
	framework.Poll(t, 60*time.Second, "one replica to lead", func(context.Context) (bool, string, error) {
		a, b := strings.Contains(replicas[0].logText(), leading), strings.Contains(replicas[1].logText(), leading)
		switch {
		case a && b:
			return false, "", fmt.Errorf("both replicas lead")
		case a:
			leader, standby = replicas[0], replicas[1]
		case b:
			leader, standby = replicas[1], replicas[0]
		}
		return leader != nil, "", nil
	})
	lease, err := c.Client().CoordinationV1().Leases(framework.ControllerNamespace).Get(ctx, "restore-controller-e2e", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("Lease %v has no holder (err %v)", lease, err)
	}
	for _, p := range replicas {
		for _, path := range []string{"/healthz", "/readyz"} {
			framework.Poll(t, 30*time.Second, p.probeURL+path, func(context.Context) (bool, string, error) {
				code, body, err := framework.HTTPGet(p.probeURL + path)
				return err == nil && code == http.StatusOK, fmt.Sprintf("%d %s %v", code, body, err), nil
			})
		}
	}

	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorld(t, ns, "binary-"+ns, "repo")
	w.dumpIntoAppData(t)
	target := appDataTarget()
	createRestore(t, w.restoreSession("first", "snap", target, ""))
	framework.WaitForPhase(t, restoreClient, ns, "first", corev1alpha1.RestoreSucceeded, restoreTimeout)

	framework.Poll(t, 30*time.Second, "the leader's metrics to count the restore", func(context.Context) (bool, string, error) {
		_, body, err := framework.HTTPGet(leader.metricsURL)
		if err != nil {
			return false, err.Error(), nil
		}
		return strings.Contains(body, `restore_controller_restores_finished_total{phase="Succeeded"} 1`) &&
			strings.Contains(body, `workqueue_adds_total{name="RestoreSessions"}`) &&
			// client-go's request counter, which make bench-controller reads.
			strings.Contains(body, `rest_client_requests_total{code="201",`) &&
			strings.Contains(body, `restore_controller_restore_duration_seconds_count{phase="Succeeded"} 1`), body, nil
	})

	// SIGTERM: the leader stops gracefully, releases the Lease, and the
	// standby takes over and restores.
	if err := leader.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-leader.exited:
		leader.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("leader exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("leader did not exit within 30s of SIGTERM")
	}
	framework.Poll(t, 30*time.Second, "the standby to take over", func(context.Context) (bool, string, error) {
		return strings.Contains(standby.logText(), leading), "", nil
	})
	createRestore(t, w.restoreSession("second", "snap", target, ""))
	framework.WaitForPhase(t, restoreClient, ns, "second", corev1alpha1.RestoreSucceeded, restoreTimeout)
}

// writeKubeconfig writes a kubeconfig with the controller's service
// account token.
func writeKubeconfig(t *testing.T, path string) {
	t.Helper()
	cfg := controllerConfig(t)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["controller"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["controller"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "controller"}
	kc.CurrentContext = "controller"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

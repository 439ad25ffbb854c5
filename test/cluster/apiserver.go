package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// startAPIServer starts kube-apiserver on a free loopback port with RBAC and
// token authentication (DESIGN §6) and waits for /readyz. It returns the
// secure port: securePort if not 0 (a restart keeps the address clients
// and the kubelet's pods know), else a free one.
//
// The ServiceAccount admission plugin is off: pods may be created before the
// serviceaccount controller has made "default" in a new namespace, and the
// process kubelet mounts the service account token itself.
func startAPIServer(ctx context.Context, bin, dir, logDir, etcdURL string, p *pki, securePort int) (*process, int, error) {
	if securePort == 0 {
		port, err := freePorts(1)
		if err != nil {
			return nil, 0, err
		}
		securePort = port[0]
	}
	host := fmt.Sprintf("https://127.0.0.1:%d", securePort)
	proc, err := startProcess(ctx, "kube-apiserver", logDir, bin, []string{
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--secure-port=" + itoa(securePort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=" + host,
		"--service-account-key-file=" + p.saPub,
		"--service-account-signing-key-file=" + p.saKey,
		"--authorization-mode=RBAC",
		"--token-auth-file=" + p.tokensCSV,
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	})
	if err != nil {
		return nil, 0, err
	}
	cfg := restConfig(host, p.caPEM, p.adminToken)
	if err := waitReady(ctx, proc, cfg); err != nil {
		proc.stop(5 * time.Second)
		return nil, 0, err
	}
	return proc, securePort, nil
}

// waitReady polls /readyz until the apiserver answers "ok".
func waitReady(ctx context.Context, proc *process, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if done, werr := proc.exited(); done {
			return false, proc.errExited(werr)
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return string(body) == "ok", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for kube-apiserver /readyz (last error: %v): %w", last, err)
	}
	return nil
}

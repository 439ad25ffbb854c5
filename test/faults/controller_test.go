package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/restore-controller/restore/test/framework"
)

// supervisedController runs cmd/restore-controller with the service
// account of artifacts/rbac and starts it again whenever it exits, as the
// Deployment's ReplicaSet and kubelet would: SIGKILL it (kill) and a new
// process takes over with nothing but what the API server holds. Leader
// election is off: one replica, and a restarted one must not wait out the
// dead one's Lease. Each incarnation logs to its own file in logDir.
type supervisedController struct {
	bin, kubeconfig, logDir string

	mu       sync.Mutex
	cmd      *exec.Cmd
	log      string // the running incarnation's log
	starts   int
	stopping bool
	done     chan struct{}
}

// controllerArgs are the flags of every incarnation: the default Job
// backoffLimit (2, so a killed executor is retried), quick target polls.
func controllerArgs(kubeconfig string) []string {
	return []string{"--kubeconfig", kubeconfig, "--leader-elect=false",
		"--metrics-bind-address", "", "--health-probe-bind-address", "",
		"--target-poll-interval", "500ms", "-v", "2"}
}

func startSupervisedController(ctx context.Context, bin, dir string) (*supervisedController, error) {
	cfg, err := c.ServiceAccountConfig(ctx, framework.ControllerNamespace, framework.ControllerServiceAccount)
	if err != nil {
		return nil, err
	}
	s := &supervisedController{bin: bin, kubeconfig: filepath.Join(dir, "faults-controller.kubeconfig"),
		logDir: filepath.Join(dir, "logs"), done: make(chan struct{})}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["controller"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["controller"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "controller"}
	kc.CurrentContext = "controller"
	if err := clientcmd.WriteToFile(*kc, s.kubeconfig); err != nil {
		return nil, err
	}
	first, err := s.start()
	if err != nil {
		return nil, err
	}
	go s.supervise(first)
	return s, nil
}

// start starts one incarnation.
func (s *supervisedController) start() (*exec.Cmd, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	s.log = filepath.Join(s.logDir, fmt.Sprintf("restore-controller-%02d.log", s.starts))
	log, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(s.bin, controllerArgs(s.kubeconfig)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd = cmd
	return cmd, nil
}

// supervise waits for each incarnation and starts the next until stop.
func (s *supervisedController) supervise(cmd *exec.Cmd) {
	defer close(s.done)
	for {
		_ = cmd.Wait()
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		next, err := s.start()
		if err != nil {
			fmt.Fprintf(os.Stderr, "restarting the controller: %v\n", err)
			return
		}
		cmd = next
	}
}

// kill SIGKILLs the running incarnation and returns its pid; the
// supervisor starts the next one.
func (s *supervisedController) kill() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid := s.cmd.Process.Pid
	return pid, s.cmd.Process.Signal(syscall.SIGKILL)
}

// workersStarted is what the controller logs once its caches have synced
// and it processes RestoreSessions.
const workersStarted = `"Starting workers"`

// waitWorking waits until the running incarnation processes
// RestoreSessions, so a kill lands in the middle of its work rather than
// during its start.
func (s *supervisedController) waitWorking(t *testing.T) {
	t.Helper()
	framework.Poll(t, time.Minute, "the controller to start its workers", func(context.Context) (bool, string, error) {
		s.mu.Lock()
		log := s.log
		s.mu.Unlock()
		raw, err := os.ReadFile(log)
		return err == nil && strings.Contains(string(raw), workersStarted), log, nil
	})
}

// incarnations is how many controller processes have been started.
func (s *supervisedController) incarnations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// stop ends the controller for good.
func (s *supervisedController) stop() {
	s.mu.Lock()
	s.stopping = true
	cmd := s.cmd
	s.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
}

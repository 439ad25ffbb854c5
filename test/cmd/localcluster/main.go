// Command localcluster runs the local test cluster (package cluster) in the
// background for a person:
//
//	localcluster up [--state-dir DIR] [--image-binary IMAGE=PATH ...] [--image-binaries-file FILE]
//	localcluster status [--state-dir DIR]
//	localcluster down [--state-dir DIR]
//
// up builds the control plane binaries if needed (hack/build-cluster-binaries.sh),
// starts a daemon (`localcluster run`) that owns the cluster, waits until it
// is ready and prints how to use it: KUBECONFIG=DIR/kubeconfig kubectl get nodes.
// Container images given with --image-binary (or one IMAGE=PATH per line in
// --image-binaries-file; # starts a comment) run as local processes.
// The state directory (default <repo>/_output/localcluster) holds the
// kubeconfig, the daemon's log (localcluster.log), its pid and the cluster
// directory (cluster/: component logs in cluster/logs, container logs in
// cluster/kubelet/logs/NAMESPACE/POD/CONTAINER.log, volumes in
// cluster/kubelet/volumes). down stops everything and keeps the logs until
// the next up.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/test/cluster"
)

type imageFlag map[string]string

func (f imageFlag) String() string { return fmt.Sprint(map[string]string(f)) }
func (f imageFlag) Set(v string) error {
	img, path, ok := strings.Cut(v, "=")
	if !ok || img == "" || path == "" {
		return fmt.Errorf("want IMAGE=PATH, got %q", v)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	f[img] = abs
	return nil
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	stateDir := fs.String("state-dir", "", "state directory (default <repo>/_output/localcluster)")
	images := imageFlag{}
	fs.Var(images, "image-binary", "IMAGE=PATH: run containers of IMAGE as the local executable PATH (repeatable)")
	imagesFile := fs.String("image-binaries-file", "", "file with one IMAGE=PATH per line")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long up waits for the cluster")
	klog.InitFlags(fs)
	_ = fs.Parse(os.Args[2:])

	dir, err := resolveStateDir(*stateDir)
	if err != nil {
		die(err)
	}
	if *imagesFile != "" {
		if err := readImagesFile(*imagesFile, images); err != nil {
			die(err)
		}
	}
	switch cmd {
	case "up":
		err = up(dir, images, *timeout)
	case "run":
		err = run(dir, images)
	case "down":
		err = down(dir)
	case "status":
		err = status(dir)
	default:
		usage()
	}
	if err != nil {
		die(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: localcluster up|down|status [--state-dir DIR] [--image-binary IMAGE=PATH ...] [--image-binaries-file FILE]")
	os.Exit(2)
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "localcluster:", err)
	os.Exit(1)
}

func resolveStateDir(dir string) (string, error) {
	if dir == "" {
		root, err := cluster.RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w; pass --state-dir", err)
		}
		dir = filepath.Join(root, "_output", "localcluster")
	}
	return filepath.Abs(dir)
}

func readImagesFile(path string, images imageFlag) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := images.Set(line); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return s.Err()
}

func pidFile(dir string) string     { return filepath.Join(dir, "localcluster.pid") }
func readyFile(dir string) string   { return filepath.Join(dir, "ready") }
func kubeconfig(dir string) string  { return filepath.Join(dir, "kubeconfig") }
func daemonLog(dir string) string   { return filepath.Join(dir, "localcluster.log") }
func clusterDir(dir string) string  { return filepath.Join(dir, "cluster") }
func imagesState(dir string) string { return filepath.Join(dir, "images") }

// runningPid returns the daemon's pid if it is alive.
func runningPid(dir string) (int, bool) {
	b, err := os.ReadFile(pidFile(dir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

func up(dir string, images imageFlag, timeout time.Duration) error {
	if pid, ok := runningPid(dir); ok {
		return fmt.Errorf("already running (pid %d); run `localcluster down` first", pid)
	}
	if _, err := cluster.BinDir(); err != nil {
		if err := buildBinaries(); err != nil {
			return err
		}
	}
	// A fresh cluster every time: drop the previous run's state.
	for _, p := range []string{clusterDir(dir), readyFile(dir), kubeconfig(dir), pidFile(dir), daemonLog(dir), imagesState(dir)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"run", "--state-dir", dir}
	for img, path := range images {
		args = append(args, "--image-binary", img+"="+path)
	}
	logf, err := os.OpenFile(daemonLog(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	daemon := exec.Command(self, args...)
	daemon.Stdout, daemon.Stderr = logf, logf
	// Its own session: the daemon survives the terminal that started it.
	daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := daemon.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile(dir), []byte(strconv.Itoa(daemon.Process.Pid)), 0o644); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	fmt.Printf("starting local cluster (daemon pid %d, log %s)\n", daemon.Process.Pid, daemonLog(dir))
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("daemon exited (%v); log:\n%s", err, tail(daemonLog(dir), 30))
		default:
		}
		_, err := os.Stat(readyFile(dir))
		return err == nil, nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("local cluster is up; use it with:\n  export KUBECONFIG=%s\n  kubectl get nodes\n", kubeconfig(dir))
	fmt.Printf("component logs: %s\ncontainer logs: %s\n", filepath.Join(clusterDir(dir), "logs"),
		filepath.Join(clusterDir(dir), "kubelet", "logs"))
	return nil
}

func buildBinaries() error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	fmt.Println("control plane binaries missing: running hack/build-cluster-binaries.sh")
	cmd := exec.Command("bash", filepath.Join(root, "hack", "build-cluster-binaries.sh"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// run is the daemon: it owns the cluster until SIGTERM or SIGINT.
func run(dir string, images imageFlag) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	c, err := cluster.Start(ctx, cluster.Options{Dir: clusterDir(dir), ImageBinaries: images})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			klog.ErrorS(err, "Stopping cluster")
		}
		_ = os.Remove(readyFile(dir))
		_ = os.Remove(pidFile(dir))
		klog.InfoS("Local cluster stopped")
	}()
	data, err := os.ReadFile(c.KubeconfigPath())
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig(dir), data, 0o600); err != nil {
		return err
	}
	var lines []string
	for img, path := range images {
		lines = append(lines, img+"="+path)
	}
	_ = os.WriteFile(imagesState(dir), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	if err := os.WriteFile(readyFile(dir), []byte(c.Host()+"\n"), 0o644); err != nil {
		return err
	}
	klog.InfoS("Local cluster ready", "kubeconfig", kubeconfig(dir), "startup", c.StartupTime())
	<-ctx.Done()
	klog.InfoS("Stopping local cluster")
	return nil
}

func down(dir string) error {
	pid, ok := runningPid(dir)
	if !ok {
		_ = os.Remove(pidFile(dir))
		fmt.Println("local cluster is not running")
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		return syscall.Kill(pid, 0) != nil, nil
	})
	if err != nil {
		// The daemon is the leader of its session and process group; its
		// components run in their own groups with Pdeathsig, so killing the
		// daemon takes them down too.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		fmt.Fprintf(os.Stderr, "daemon did not stop in 60s; killed it (log %s)\n", daemonLog(dir))
	}
	_ = os.Remove(pidFile(dir))
	_ = os.Remove(readyFile(dir))
	fmt.Printf("local cluster stopped; logs kept in %s until the next up\n", dir)
	return nil
}

func status(dir string) error {
	pid, ok := runningPid(dir)
	if !ok {
		return errors.New("not running")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig(dir))
	if err != nil {
		fmt.Printf("local cluster: daemon pid %d, starting (no kubeconfig yet)\n", pid)
		return nil
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("daemon pid %d, apiserver %s not answering: %w", pid, cfg.Host, err)
	}
	fmt.Printf("local cluster: running (daemon pid %d), apiserver %s, kubeconfig %s\n", pid, cfg.Host, kubeconfig(dir))
	for _, n := range nodes.Items {
		ready := "NotReady"
		for _, cnd := range n.Status.Conditions {
			if cnd.Type == corev1.NodeReady && cnd.Status == corev1.ConditionTrue {
				ready = "Ready"
			}
		}
		fmt.Printf("  node %s: %s\n", n.Name, ready)
	}
	if b, err := os.ReadFile(imagesState(dir)); err == nil && strings.TrimSpace(string(b)) != "" {
		fmt.Printf("  mapped images:\n    %s\n", strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n    "))
	}
	return nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

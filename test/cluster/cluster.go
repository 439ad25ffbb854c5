// Package cluster starts a real Kubernetes control plane for tests: etcd,
// kube-apiserver (RBAC, token authentication) and kube-controller-manager
// as child processes, plus the in-process process kubelet
// (package kubelet), which binds pods, provisions volumes and runs mapped
// images as local processes. There is no scheduler and no kube-proxy.
//
// Everything lives in one directory (a temp dir by default): certificates,
// etcd data, component logs (logs/), pod directories, container logs and
// volumes (kubelet/). Stop removes it unless the cluster is kept (a failed
// test run, KEEP_CLUSTER=1, or Keep()).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/cluster/kubelet"
)

// Options configure Start. The zero value is a usable default.
type Options struct {
	// Dir holds all state. Empty: a new temp dir, removed by Stop.
	Dir string
	// BinDir holds etcd, kube-apiserver, kube-controller-manager. Empty:
	// BinDir().
	BinDir string
	// ImageBinaries maps container images to local executables the process
	// kubelet runs for them.
	ImageBinaries map[string]string
	// NodeName of the single node; default "local-node".
	NodeName string
	// Setup, if set, runs once the cluster is ready, before Start returns:
	// it installs what every user of the cluster expects (CRDs, RBAC). Its
	// error fails Start.
	Setup func(ctx context.Context, c *Cluster) error
}

// Cluster is a running local cluster.
type Cluster struct {
	dir    string
	ownDir bool
	keep   bool
	pki    *pki
	host   string
	port   int
	admin  *rest.Config
	client kubernetes.Interface
	procs  []*process // in start order
	// apiserverIdx is kube-apiserver's index in procs, which
	// RestartAPIServer replaces; binDir and etcdURL start it again.
	apiserverIdx    int
	binDir, etcdURL string
	restartMu       sync.Mutex
	kubelet         *kubelet.Kubelet
	startTime       time.Duration
	kubeletLog      *os.File
	stopOnce        sync.Once
	cancel          context.CancelFunc
}

// Start starts the cluster and returns when the apiserver is ready, the
// node is registered and Ready, the default service account and
// kube-root-ca.crt exist in the default namespace, and opts.Setup is done.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	begin := time.Now()
	logger := klog.FromContext(ctx).WithName("cluster")
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = BinDir(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{dir: opts.Dir}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "local-cluster-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.LogDir(), 0o755); err != nil {
		return nil, err
	}
	// The in-process kubelet logs to logs/kubelet.log beside the other
	// components, at verbosity KUBELET_V (default 4: every pod and
	// container transition), whatever the process's own klog settings.
	kubeletLog, err := os.OpenFile(filepath.Join(c.LogDir(), "kubelet.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c.kubeletLog = kubeletLog
	verbosity := 4
	if v, err := strconv.Atoi(os.Getenv("KUBELET_V")); err == nil {
		verbosity = v
	}
	kubeletLogger := textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(kubeletLog), textlogger.Verbosity(verbosity)))
	// Background work (informers, pod workers) must outlive the caller's
	// ctx, which may be a test's; Stop ends it.
	runCtx, cancel := context.WithCancel(klog.NewContext(context.WithoutCancel(ctx), kubeletLogger))
	c.cancel = cancel
	defer func() {
		if err != nil {
			c.keep = true // keep the logs for the error message
			c.Stop()
			err = fmt.Errorf("%w (cluster files kept in %s)", err, c.dir)
		}
	}()
	if c.pki, err = generatePKI(filepath.Join(c.dir, "pki")); err != nil {
		return nil, err
	}

	etcd, etcdURL, err := startEtcd(ctx, filepath.Join(binDir, "etcd"), c.dir, c.LogDir())
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, etcd)

	apiserver, port, err := startAPIServer(ctx, filepath.Join(binDir, "kube-apiserver"), c.dir, c.LogDir(), etcdURL, c.pki, 0)
	if err != nil {
		return nil, err
	}
	c.binDir, c.etcdURL, c.apiserverIdx = binDir, etcdURL, len(c.procs)
	c.procs = append(c.procs, apiserver)
	c.port = port
	c.host = fmt.Sprintf("https://127.0.0.1:%d", port)
	c.admin = restConfig(c.host, c.pki.caPEM, c.pki.adminToken)
	if c.client, err = kubernetes.NewForConfig(c.admin); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(c.KubeconfigPath(), "admin", c.admin); err != nil {
		return nil, err
	}

	kcmKubeconfig := filepath.Join(c.dir, "kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, "kube-controller-manager", restConfig(c.host, c.pki.caPEM, c.pki.controlToken)); err != nil {
		return nil, err
	}
	kcm, err := startControllerManager(ctx, filepath.Join(binDir, "kube-controller-manager"), c.LogDir(), kcmKubeconfig, c.pki)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, kcm)

	kcfg := restConfig(c.host, c.pki.caPEM, c.pki.controlToken)
	kcfg.UserAgent = "process-kubelet"
	kclient, err := kubernetes.NewForConfig(kcfg)
	if err != nil {
		return nil, err
	}
	dclient, err := dynamic.NewForConfig(kcfg)
	if err != nil {
		return nil, err
	}
	if err := installSnapshotCRDs(ctx, c.admin); err != nil {
		return nil, err
	}
	c.kubelet, err = kubelet.New(kubelet.Config{
		NodeName:      opts.NodeName,
		Client:        kclient,
		Dynamic:       dclient,
		RootDir:       filepath.Join(c.dir, "kubelet"),
		APIServerHost: "127.0.0.1",
		APIServerPort: port,
		CACert:        c.pki.caPEM,
		ImageBinaries: opts.ImageBinaries,
	})
	if err != nil {
		return nil, err
	}
	if err := c.kubelet.Start(runCtx); err != nil {
		return nil, err
	}
	if err := c.waitSettled(ctx, kcm); err != nil {
		return nil, err
	}
	c.startTime = time.Since(begin)
	logger.Info("Cluster ready", "host", c.host, "dir", c.dir, "startup", c.startTime)
	if opts.Setup != nil {
		if err := opts.Setup(ctx, c); err != nil {
			return nil, fmt.Errorf("setting up the cluster: %w", err)
		}
	}
	return c, nil
}

// waitSettled waits for what kube-controller-manager sets up in every
// namespace: the "default" service account and the kube-root-ca.crt config
// map. Tests can then create pods right away.
func (c *Cluster) waitSettled(ctx context.Context, kcm *process) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if done, werr := kcm.exited(); done {
			return false, kcm.errExited(werr)
		}
		if _, err := c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, nil
		}
		_, err := c.client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for kube-controller-manager to create default/default and kube-root-ca.crt: %w\n%s",
			err, tailFile(kcm.logPath, 20))
	}
	return nil
}

// Stop stops the kubelet (and every container), then
// kube-controller-manager, kube-apiserver and etcd, checks that no mount is
// left below the cluster directory and removes the directory unless the
// cluster is kept. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	c.stopOnce.Do(func() {
		if c.kubelet != nil {
			c.kubelet.Stop()
		}
		if c.cancel != nil {
			c.cancel()
		}
		if c.kubeletLog != nil {
			_ = c.kubeletLog.Close()
		}
		for i := len(c.procs) - 1; i >= 0; i-- {
			c.procs[i].stop(10 * time.Second)
		}
		if err := unmountBelow(c.dir); err != nil {
			errs = append(errs, err)
		}
		if c.keep || os.Getenv("KEEP_CLUSTER") == "1" || !c.ownDir {
			if c.ownDir {
				fmt.Fprintf(os.Stderr, "local cluster files kept in %s\n", c.dir)
			}
			return
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// RestartAPIServer stops kube-apiserver (SIGTERM, SIGKILL after 5 s),
// leaves it down for down, and starts it again on the same port with the
// same etcd (the cluster's state survives), returning once it is ready.
// Clients, the kubelet and running pods see connections refused
// meanwhile, as during a control-plane upgrade.
func (c *Cluster) RestartAPIServer(ctx context.Context, down time.Duration) error {
	c.restartMu.Lock()
	defer c.restartMu.Unlock()
	c.procs[c.apiserverIdx].stop(5 * time.Second)
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	apiserver, _, err := startAPIServer(ctx, filepath.Join(c.binDir, "kube-apiserver"), c.dir, c.LogDir(), c.etcdURL, c.pki, c.port)
	if err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	c.procs[c.apiserverIdx] = apiserver
	return nil
}

// Keep makes Stop keep the cluster directory (logs, volumes).
func (c *Cluster) Keep() { c.keep = true }

// Config returns a copy of an admin (system:masters) client config.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.admin) }

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Host returns the apiserver URL (https://127.0.0.1:PORT).
func (c *Cluster) Host() string { return c.host }

// CACert returns the PEM CA certificate that verifies the apiserver.
func (c *Cluster) CACert() []byte { return append([]byte(nil), c.pki.caPEM...) }

// Dir returns the cluster directory.
func (c *Cluster) Dir() string { return c.dir }

// LogDir returns the directory of the component logs (etcd.log,
// kube-apiserver.log, kube-controller-manager.log, kubelet.log).
func (c *Cluster) LogDir() string { return filepath.Join(c.dir, "logs") }

// KubeconfigPath returns the admin kubeconfig written at start.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.dir, "kubeconfig") }

// StartupTime is how long Start took.
func (c *Cluster) StartupTime() time.Duration { return c.startTime }

// Kubelet returns the process kubelet.
func (c *Cluster) Kubelet() *kubelet.Kubelet { return c.kubelet }

// NodeName returns the name of the cluster's node.
func (c *Cluster) NodeName() string { return c.kubelet.NodeName() }

// MapImage makes pods created from now on run binary for image.
func (c *Cluster) MapImage(image, binary string) { c.kubelet.SetImageBinary(image, binary) }

// ContainerLogPath returns the log file of a container of a pod.
func (c *Cluster) ContainerLogPath(namespace, pod, container string) string {
	return c.kubelet.ContainerLogPath(namespace, pod, container)
}

// ContainerLog returns the output of a container so far ("" if none).
func (c *Cluster) ContainerLog(namespace, pod, container string) string {
	b, _ := os.ReadFile(c.ContainerLogPath(namespace, pod, container))
	return string(b)
}

// VolumeDir returns the host directory of a provisioned PersistentVolume.
func (c *Cluster) VolumeDir(pvName string) string { return c.kubelet.VolumeDir(pvName) }

// ServiceAccountConfig mints a client config that authenticates as the
// service account namespace/name with a token from the TokenRequest API.
func (c *Cluster) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	tr, err := c.client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for service account %s/%s: %w", namespace, name, err)
	}
	return restConfig(c.host, c.pki.caPEM, tr.Status.Token), nil
}

// DumpLogs writes the tail of each control plane log to w.
func (c *Cluster) DumpLogs(w io.Writer, lines int) {
	for _, name := range append(append([]string{}, componentBinaries...), "kubelet") {
		path := filepath.Join(c.LogDir(), name+".log")
		fmt.Fprintf(w, "===== %s (%s) =====\n%s\n", name, path, tailFile(path, lines))
	}
}

// unmountBelow detaches any mount left below dir. The harness never mounts
// on the host (pod mounts live in private namespaces), so finding one is
// reported as an error after cleaning it up.
func unmountBelow(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var left []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			left = append(left, f[4])
		}
	}
	for i := len(left) - 1; i >= 0; i-- {
		_ = unmount(left[i])
	}
	if len(left) > 0 {
		return fmt.Errorf("mounts were left below %s: %v", dir, left)
	}
	return nil
}

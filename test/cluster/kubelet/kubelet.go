// Package kubelet is a process kubelet for a local test cluster: it registers
// one Ready node, binds pending pods to it (there is no scheduler),
// provisions hostPath PersistentVolumes for claims of its default
// StorageClass and of WaitForFirstConsumerStorageClass (once a pod using
// the claim is bound; filled from a VolumeSnapshot's directory when that
// is the claim's dataSource), and runs the containers of pods on its node whose image is
// mapped to a local binary as processes in private mount namespaces
// (see shim.go). Pods whose images are not mapped are reported Running and
// Ready without running anything, so that workloads of applications become
// Ready.
package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Config configures a Kubelet.
type Config struct {
	// NodeName is the name of the node to register; default "local-node".
	NodeName string
	// Client is an admin client of the cluster.
	Client kubernetes.Interface
	// Dynamic is a dynamic client of the same identity; the provisioner
	// reads VolumeSnapshots with it. Nil: claims from snapshots are not
	// provisioned.
	Dynamic dynamic.Interface
	// RootDir holds pod directories, container logs and provisioned volumes.
	RootDir string
	// APIServerHost and APIServerPort are given to containers as
	// KUBERNETES_SERVICE_HOST/PORT (127.0.0.1 and the apiserver's secure port).
	APIServerHost string
	APIServerPort int
	// CACert is the PEM CA bundle that verifies the apiserver; containers get
	// it as ca.crt next to their service account token.
	CACert []byte
	// ImageBinaries maps container images to local executables.
	ImageBinaries map[string]string
	// StorageClassName is the default StorageClass created and served by the
	// provisioner; default "standard".
	StorageClassName string
}

// Provisioner is the provisioner name of the default StorageClass.
const Provisioner = "process-kubelet.local/hostpath"

// Kubelet is a running process kubelet.
type Kubelet struct {
	cfg    Config
	client kubernetes.Interface
	self   string // executable re-executed as the shim

	factory informers.SharedInformerFactory
	pods    cache.SharedIndexInformer

	imagesMu sync.Mutex
	images   map[string]string

	binding sync.Map // pod UIDs being bound

	mu      sync.Mutex
	workers map[string]*podWorker // by pod UID
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

// New validates cfg and returns a Kubelet that is not yet running.
func New(cfg Config) (*Kubelet, error) {
	if cfg.Client == nil || cfg.RootDir == "" || cfg.APIServerPort == 0 {
		return nil, fmt.Errorf("kubelet: Client, RootDir and APIServerPort are required")
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "local-node"
	}
	if cfg.APIServerHost == "" {
		cfg.APIServerHost = "127.0.0.1"
	}
	if cfg.StorageClassName == "" {
		cfg.StorageClassName = "standard"
	}
	// The shim is this very executable, re-executed through /proc/self/exe:
	// that works even when the file is gone (go run deletes its binary).
	self := "/proc/self/exe"
	for _, d := range []string{"pods", "logs", "volumes"} {
		if err := os.MkdirAll(filepath.Join(cfg.RootDir, d), 0o755); err != nil {
			return nil, err
		}
	}
	k := &Kubelet{cfg: cfg, client: cfg.Client, self: self, images: map[string]string{}, workers: map[string]*podWorker{}}
	for img, bin := range cfg.ImageBinaries {
		k.SetImageBinary(img, bin)
	}
	return k, nil
}

// NodeName returns the name of the node this kubelet registered.
func (k *Kubelet) NodeName() string { return k.cfg.NodeName }

// StorageClassName returns the name of the default StorageClass.
func (k *Kubelet) StorageClassName() string { return k.cfg.StorageClassName }

// SetImageBinary maps image to the executable at binary (made absolute).
// Pods created afterwards run it.
func (k *Kubelet) SetImageBinary(image, binary string) {
	if abs, err := filepath.Abs(binary); err == nil {
		binary = abs
	}
	k.imagesMu.Lock()
	defer k.imagesMu.Unlock()
	k.images[image] = binary
}

// binaryFor returns the executable mapped to image: an exact match first,
// then a key without tag or digest matching the image's repository.
func (k *Kubelet) binaryFor(image string) (string, bool) {
	k.imagesMu.Lock()
	defer k.imagesMu.Unlock()
	if b, ok := k.images[image]; ok {
		return b, true
	}
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	b, ok := k.images[repo]
	return b, ok
}

// ContainerLogPath returns the file holding the output of a container (all
// its runs, appended) of the pod namespace/pod.
func (k *Kubelet) ContainerLogPath(namespace, pod, container string) string {
	return filepath.Join(k.cfg.RootDir, "logs", namespace, pod, container+".log")
}

// VolumeDir returns the host directory of a PersistentVolume the
// provisioner created.
func (k *Kubelet) VolumeDir(pvName string) string {
	return filepath.Join(k.cfg.RootDir, "volumes", pvName)
}

// Start registers the node, creates the default StorageClass and starts
// the binder, provisioner and pod workers. It returns once the informers
// have synced; Stop ends everything.
func (k *Kubelet) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("kubelet")
	ctx = klog.NewContext(ctx, logger)
	k.ctx, k.cancel = context.WithCancel(ctx)
	if err := k.registerNode(k.ctx); err != nil {
		return err
	}
	if err := k.ensureStorageClass(k.ctx); err != nil {
		return err
	}
	k.factory = informers.NewSharedInformerFactory(k.client, 10*time.Minute)
	k.pods = k.factory.Core().V1().Pods().Informer()
	if _, err := k.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.onPod(obj) },
		UpdateFunc: func(_, obj any) { k.onPod(obj) },
		DeleteFunc: func(obj any) { k.onPodDelete(obj) },
	}); err != nil {
		return err
	}
	if err := k.startProvisioner(); err != nil {
		return err
	}
	k.factory.Start(k.ctx.Done())
	for typ, ok := range k.factory.WaitForCacheSync(k.ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubelet: informer for %v did not sync", typ)
		}
	}
	logger.Info("Process kubelet running", "node", k.cfg.NodeName, "rootDir", k.cfg.RootDir)
	return nil
}

// Stop kills every container (SIGTERM, then SIGKILL after a short grace
// period: the cluster is going away) and waits for all pod workers.
func (k *Kubelet) Stop() {
	if k.cancel == nil {
		return
	}
	k.cancel()
	k.mu.Lock()
	workers := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		workers = append(workers, w)
	}
	k.mu.Unlock()
	for _, w := range workers {
		w.killAll(2 * time.Second)
	}
	k.wg.Wait()
	if k.factory != nil {
		k.factory.Shutdown()
	}
}

func (k *Kubelet) onPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp == nil {
			k.bind(pod)
		}
		return
	}
	if pod.Spec.NodeName != k.cfg.NodeName {
		return
	}
	k.mu.Lock()
	w, ok := k.workers[string(pod.UID)]
	if !ok && k.ctx.Err() == nil {
		w = newPodWorker(k, pod)
		k.workers[string(pod.UID)] = w
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			w.run(k.ctx)
		}()
	}
	k.mu.Unlock()
	if w != nil && pod.DeletionTimestamp != nil {
		w.requestDeletion(pod)
	}
}

func (k *Kubelet) onPodDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	k.mu.Lock()
	w := k.workers[string(pod.UID)]
	k.mu.Unlock()
	if w != nil {
		w.requestDeletion(pod)
		w.markGone()
	}
}

// forget drops a finished worker.
func (k *Kubelet) forget(uid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.workers, uid)
}

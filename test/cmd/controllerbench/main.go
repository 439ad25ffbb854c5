// Command controllerbench measures the restore controller alone on the local
// test cluster (package cluster): N RestoreSessions with PVC targets are
// created in a namespace whose ResourceQuota admits no pod, so no restore
// executor runs and only the controller's work is timed. The controller runs
// as the built binary (--controller-bin) with the identity and RBAC that
// artifacts/rbac/controller.yaml gives it. It prints:
//
//   - the time from the controller's start until all N restore Jobs exist
//     (and from its caches' sync, /readyz);
//   - its API requests by HTTP method, from client-go's
//     rest_client_requests_total on its /metrics, and the writes (POST, PUT,
//     PATCH, DELETE) per RestoreSession and per component;
//   - its peak RSS (VmHWM of /proc/PID/status).
//
// With --rss-total above N, the controller is then restarted with that many
// RestoreSessions (and their Jobs) in the cluster and its peak RSS is
// measured again once it has made every Job. `make bench-controller` runs it
// (bench/controller.sh, bench/README.md).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

// The fixture's names. The namespace's quota admits no pod: the Jobs exist,
// their pods are refused, and no executor competes with the controller.
const (
	benchNS       = "controller-bench"
	addonName     = "bench-addon"
	functionName  = "bench-restore"
	taskName      = "bench-restore"
	repoName      = "bench-repo"
	storageName   = "bench-storage"
	snapshotName  = "bench-snapshot"
	secretName    = "encrypt-secret"
	componentName = "dump"
	// creators is how many fixture objects are created at once.
	creators = 16
)

type options struct {
	n, rssTotal    int
	controllerBin  string
	controllerArgs []string
	timeout        time.Duration
	keepDir        string
}

func main() {
	var o options
	var extra string
	flag.IntVar(&o.n, "n", 500, "RestoreSessions timed")
	flag.IntVar(&o.rssTotal, "rss-total", 5000, "RestoreSessions in the cluster for the second run, which measures peak RSS (0 or <= n: no second run)")
	flag.StringVar(&o.controllerBin, "controller-bin", "", "the restore-controller binary (required)")
	flag.StringVar(&extra, "controller-args", "", "extra arguments of the controller, space separated (e.g. \"--kube-api-qps=20 --kube-api-burst=30 --workers=2\")")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound of each run")
	flag.StringVar(&o.keepDir, "cluster-dir", "", "keep the cluster's state and logs in this directory (default: a temp dir, removed)")
	klog.InitFlags(nil)
	flag.Parse()
	o.controllerArgs = strings.Fields(extra)
	if o.controllerBin == "" {
		fmt.Fprintln(os.Stderr, "controllerbench: --controller-bin is required")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "controllerbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	fmt.Printf("controllerbench: starting the local cluster\n")
	c, err := cluster.Start(ctx, cluster.Options{Dir: o.keepDir, Setup: func(ctx context.Context, c *cluster.Cluster) error {
		if err := framework.InstallProjectCRDs(ctx, c.Config()); err != nil {
			return err
		}
		return framework.InstallControllerRBAC(ctx, c.Config())
	}})
	if err != nil {
		return err
	}
	if o.keepDir != "" {
		c.Keep()
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "controllerbench: stopping the cluster:", err)
		}
	}()
	admin := c.Config()
	admin.QPS, admin.Burst = 1000, 1000
	f, err := newFixture(admin)
	if err != nil {
		return err
	}
	if err := f.base(ctx); err != nil {
		return err
	}
	kubeconfig := filepath.Join(c.Dir(), "controller.kubeconfig")
	if err := writeControllerKubeconfig(ctx, c, kubeconfig); err != nil {
		return err
	}

	fmt.Printf("controllerbench: creating %d RestoreSessions with PVC targets\n", o.n)
	if err := f.restoreSessions(ctx, 0, o.n); err != nil {
		return err
	}
	fmt.Printf("controller benchmark, %s, %d CPUs, load average %s, controller args %q\n",
		time.Now().UTC().Format("2006-01-02"), numCPU(), loadAverage(), strings.Join(o.controllerArgs, " "))
	first, err := measure(ctx, o, f, kubeconfig, c.LogDir(), "timed", o.n)
	if err != nil {
		return err
	}
	first.print(fmt.Sprintf("%d RestoreSessions, controller started with none done", o.n))
	if o.rssTotal > o.n {
		fmt.Printf("controllerbench: creating %d more RestoreSessions (%d in all) for the memory run\n", o.rssTotal-o.n, o.rssTotal)
		if err := f.restoreSessions(ctx, o.n, o.rssTotal); err != nil {
			return err
		}
		second, err := measure(ctx, o, f, kubeconfig, c.LogDir(), "memory", o.rssTotal)
		if err != nil {
			return err
		}
		second.print(fmt.Sprintf("%d RestoreSessions in the cluster (%d already done)", o.rssTotal, o.n))
	}
	return nil
}

// result is what one controller run measured.
type result struct {
	sessions, jobs        int
	toJobs, toJobsAfterUp time.Duration
	requests              map[string]float64 // by HTTP method
	peakRSS, endRSS       int64              // KiB
	components            int
	cpu                   time.Duration // the controller's user and system CPU time
	load                  string        // the machine's load average at the end
	partialOf             int           // >0: the run ran out of time before this many Jobs existed
}

func (r *result) writes() float64 {
	return r.requests["POST"] + r.requests["PUT"] + r.requests["PATCH"] + r.requests["DELETE"]
}

func (r *result) print(title string) {
	fmt.Printf("\n%s:\n", title)
	if r.partialOf > 0 {
		fmt.Printf("  OUT OF TIME: %d of %d Jobs after %.1f s (%d made by this run); writes per RestoreSession are per Job made\n",
			r.jobs, r.partialOf, r.toJobs.Seconds(), r.sessions)
	} else {
		fmt.Printf("  all %d Jobs exist after     %7.1f s from the controller's start (%.1f s after its caches synced)\n",
			r.jobs, r.toJobs.Seconds(), r.toJobsAfterUp.Seconds())
	}
	methods := make([]string, 0, len(r.requests))
	for m := range r.requests {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var parts []string
	for _, m := range methods {
		parts = append(parts, fmt.Sprintf("%s %.0f", m, r.requests[m]))
	}
	fmt.Printf("  API requests (rest_client_requests_total): %s\n", strings.Join(parts, ", "))
	fmt.Printf("  API writes per RestoreSession    %7.2f  (per component: %.2f)\n",
		r.writes()/float64(r.sessions), r.writes()/float64(r.components))
	fmt.Printf("  controller peak RSS              %7.1f MiB (at the end: %.1f MiB)\n", float64(r.peakRSS)/1024, float64(r.endRSS)/1024)
	fmt.Printf("  controller CPU time              %7.1f s; load average at the end: %s\n", r.cpu.Seconds(), r.load)
}

// measure starts the controller, waits until `want` restore Jobs exist in
// the namespace and the controller has settled (no request for 3 s), reads
// its /metrics and peak RSS, and stops it.
func measure(ctx context.Context, o options, f *fixture, kubeconfig, logDir, name string, want int) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	metricsAddr, err := framework.FindFreeAddress()
	if err != nil {
		return nil, err
	}
	healthAddr, err := framework.FindFreeAddress()
	if err != nil {
		return nil, err
	}
	countJobs := func() (int, error) {
		// Jobs carry the managed-by label; the watch cache answers.
		list, err := f.kube.BatchV1().Jobs(benchNS).List(ctx, metav1.ListOptions{
			LabelSelector: controller.LabelManagedBy + "=" + controller.ManagedByValue, ResourceVersion: "0",
		})
		if err != nil {
			return 0, err
		}
		return len(list.Items), nil
	}
	before, err := countJobs()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, "restore-controller-"+name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := append([]string{
		"--kubeconfig=" + kubeconfig, "--leader-elect=false",
		"--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=" + healthAddr,
	}, o.controllerArgs...)
	fmt.Printf("controllerbench: %s run: %s %s (log: %s)\n", name, o.controllerBin, strings.Join(args, " "), logPath)
	cmd := exec.Command(o.controllerBin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	var up time.Duration
	ready := framework.HTTPReady("http://" + healthAddr + "/readyz")
	if err := poll(ctx, exited, 50*time.Millisecond, func() (bool, error) { return ready(ctx), nil }); err != nil {
		return nil, fmt.Errorf("waiting for /readyz: %w", err)
	}
	up = time.Since(start)

	var jobs int
	err = poll(ctx, exited, 100*time.Millisecond, func() (bool, error) {
		var err error
		jobs, err = countJobs()
		return jobs >= want, err
	})
	toJobs := time.Since(start)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Out of time (a busy machine): what was measured so far still
		// says something, the peak RSS with every RestoreSession cached
		// above all.
		fmt.Printf("controllerbench: %s run: only %d of %d Jobs after --timeout %s; reporting what was measured\n", name, jobs, want, o.timeout)
		return partialResult(cmd.Process.Pid, metricsAddr, want, jobs, jobs-before, toJobs, up)
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for %d Jobs (%d exist): %w", want, jobs, err)
	}
	fmt.Printf("controllerbench: %s run: %d Jobs after %.1f s; waiting for the controller to settle\n", name, jobs, toJobs.Seconds())

	// Settled: the request counters stay put for 3 s (status writes and
	// Events of the last syncs are counted too).
	var requests map[string]float64
	var lastChange time.Time
	err = poll(ctx, exited, 500*time.Millisecond, func() (bool, error) {
		now, err := scrapeRequests("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false, err
		}
		if !sameCounts(now, requests) {
			requests, lastChange = now, time.Now()
		}
		return time.Since(lastChange) >= 3*time.Second, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the controller to settle: %w", err)
	}
	peak, cur, err := rssOf(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	cpu, err := cpuOf(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	return &result{
		sessions: want, jobs: jobs, toJobs: toJobs, toJobsAfterUp: toJobs - up,
		requests: requests, peakRSS: peak, endRSS: cur, components: want,
		cpu: cpu, load: loadAverage(),
	}, nil
}

// partialResult is the result of a run that ran out of time with jobs of
// want Jobs existing, made of them by this run: requests and writes are
// per Job made.
func partialResult(pid int, metricsAddr string, want, jobs, made int, toJobs, up time.Duration) (*result, error) {
	requests, err := scrapeRequests("http://" + metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	peak, cur, err := rssOf(pid)
	if err != nil {
		return nil, err
	}
	cpu, err := cpuOf(pid)
	if err != nil {
		return nil, err
	}
	return &result{
		sessions: max(made, 1), jobs: jobs, toJobs: toJobs, toJobsAfterUp: toJobs - up,
		requests: requests, peakRSS: peak, endRSS: cur, components: max(made, 1),
		cpu: cpu, load: loadAverage(), partialOf: want,
	}, nil
}

func loadAverage() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// poll calls cond every interval until it is true, it fails, ctx ends or
// the controller exits.
func poll(ctx context.Context, exited <-chan error, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("the controller exited: %v", err)
		case <-t.C:
		}
	}
}

func sameCounts(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scrapeRequests sums rest_client_requests_total by method.
func scrapeRequests(url string) (map[string]float64, error) {
	code, body, err := framework.HTTPGet(url)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET %s: %d", url, code)
	}
	out := map[string]float64{}
	s := bufio.NewScanner(strings.NewReader(body))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "rest_client_requests_total{"), "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		for _, l := range strings.Split(labels, ",") {
			if m, ok := strings.CutPrefix(l, `method="`); ok {
				out[strings.TrimSuffix(m, `"`)] += v
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no rest_client_requests_total on /metrics")
	}
	return out, s.Err()
}

// rssOf returns the peak and current resident set size of pid in KiB.
func rssOf(pid int) (peak, cur int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		field, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		switch field {
		case "VmHWM":
			peak = kib
		case "VmRSS":
			cur = kib
		}
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return peak, cur, nil
}

// cpuOf returns the user and system CPU time pid used (fields 14 and 15
// of /proc/PID/stat, in clock ticks of 1/100 s).
func cpuOf(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ")".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func numCPU() int {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(raw), "\nprocessor") + 1
}

// writeControllerKubeconfig writes a kubeconfig with a token of the
// controller's service account, so the controller runs with the
// permissions users install.
func writeControllerKubeconfig(ctx context.Context, c *cluster.Cluster, path string) error {
	cfg, err := c.ServiceAccountConfig(ctx, framework.ControllerNamespace, framework.ControllerServiceAccount)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["controller"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "controller"}
	kc.CurrentContext = "local"
	return clientcmd.WriteToFile(*kc, path)
}

// fixture creates the benchmark's objects with the admin's identity.
type fixture struct {
	kube    kubernetes.Interface
	restore versioned.Interface
}

func newFixture(cfg *rest.Config) (*fixture, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	restore, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &fixture{kube: kube, restore: restore}, nil
}

// base creates the namespace with its pod-less quota, the storage,
// repository, encryption Secret and Snapshot (one component), and the
// Addon whose task the RestoreSessions run.
func (f *fixture) base(ctx context.Context) error {
	if _, err := f.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := f.kube.CoreV1().ResourceQuotas(benchNS).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-pods"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := f.kube.CoreV1().Secrets(benchNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName},
		StringData: map[string]string{storagev1alpha1.EncryptionKeyRestic: "not-read: no executor runs"},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := f.restore.StorageV1alpha1().BackupStorages(benchNS).Create(ctx, &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: storageName},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local: &storagev1alpha1.LocalSpec{
				VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/nonexistent/bench", Type: ptr.To(corev1.HostPathDirectory)}},
				MountPath:    "/kubestash-repo",
			},
		}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := f.restore.StorageV1alpha1().Repositories(benchNS).Create(ctx, &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: repoName},
		Spec: storagev1alpha1.RepositorySpec{
			StorageRef:       common.ObjectReference{Name: storageName},
			Path:             "/" + repoName,
			EncryptionSecret: &common.ObjectReference{Name: secretName},
		},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	snap, err := f.restore.StorageV1alpha1().Snapshots(benchNS).Create(ctx, &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: snapshotName, Labels: map[string]string{storagev1alpha1.LabelRepoName: repoName}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: repoName},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	snap.Status = storagev1alpha1.SnapshotStatus{
		Phase:           storagev1alpha1.SnapshotSucceeded,
		SnapshotTime:    &metav1.Time{Time: time.Now().Add(-time.Hour)},
		TotalComponents: 1,
		Components: map[string]storagev1alpha1.Component{componentName: {
			Phase: storagev1alpha1.SnapshotSucceeded, Driver: storagev1alpha1.DriverKopia, Path: "repository/" + componentName,
			KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: "k" + componentName, HostPath: "/data", Size: "1 KiB"}},
		}},
	}
	if _, err := f.restore.StorageV1alpha1().Snapshots(benchNS).UpdateStatus(ctx, snap, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if _, err := f.restore.AddonsV1alpha1().Functions().Create(ctx, &addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: functionName},
		Spec:       addonsv1alpha1.FunctionSpec{Image: "example.com/never-runs:v1", Command: []string{"/restore"}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err = f.restore.AddonsV1alpha1().Addons().Create(ctx, &addonsv1alpha1.Addon{
		ObjectMeta: metav1.ObjectMeta{Name: addonName},
		Spec: addonsv1alpha1.AddonSpec{RestoreTasks: []addonsv1alpha1.Task{{
			Name: taskName, Function: functionName, Driver: string(storagev1alpha1.DriverKopia), Executor: addonsv1alpha1.ExecutorJob,
		}}},
	}, metav1.CreateOptions{})
	return err
}

// restoreSessions creates the PVCs data-i and the RestoreSessions rs-i
// restoring into them, for i in [from, to).
func (f *fixture) restoreSessions(ctx context.Context, from, to int) error {
	return parallel(from, to, func(i int) error {
		claim := fmt.Sprintf("data-%d", i)
		if _, err := f.kube.CoreV1().PersistentVolumeClaims(benchNS).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: claim},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{}); err != nil {
			return err
		}
		_, err := f.restore.CoreV1alpha1().RestoreSessions(benchNS).Create(ctx, &corev1alpha1.RestoreSession{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rs-%d", i)},
			Spec: corev1alpha1.RestoreSessionSpec{
				Target:     &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claim},
				DataSource: corev1alpha1.RestoreDataSource{Repository: repoName, Snapshot: snapshotName},
				Addon:      corev1alpha1.AddonInfo{Name: addonName, Tasks: []corev1alpha1.TaskReference{{Name: taskName}}},
			},
		}, metav1.CreateOptions{})
		return err
	})
}

// parallel runs do(i) for i in [from, to) on `creators` goroutines and
// returns the first error.
func parallel(from, to int, do func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// Command restore-controller runs the RestoreSession controller: it turns
// RestoreSessions into restore Jobs and reports their progress in status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	informers "github.com/restore-controller/restore/pkg/generated/informers/externalversions"
	"github.com/restore-controller/restore/pkg/hookaction"
	"github.com/restore-controller/restore/pkg/metricspush"
	"github.com/restore-controller/restore/pkg/version"
)

// The defaults of --workers, --kube-api-qps and --kube-api-burst are sized
// for many RestoreSessions created at once, as in a disaster recovery
// (`make bench-controller`, bench/README.md). A new RestoreSession costs
// about 8 requests of its sync (its ServiceAccount, Role, RoleBinding and
// Job, one status write, the reads of its encryption Secret, target and
// namespace); its Events go through a client and rate limit of their own.
// 500 RestoreSessions turned into Jobs within 30 s are 4,000 requests:
// about 135/s sustained, so 200/s with a burst of 300. client-go's
// default, 5/s, made that one Job a second; kube-controller-manager's
// 20/s (burst 30) is per controller, each with a client of its own, where
// this is one client for all of the controller's work. The API server's
// own priority and fairness still bounds what any client may take.
const (
	defaultWorkers      = 8
	defaultKubeAPIQPS   = 200
	defaultKubeAPIBurst = 300
)

type options struct {
	kubeconfig           string
	workers              int
	kubeAPIQPS           float64
	kubeAPIBurst         int
	resync               time.Duration
	metricsAddr          string
	healthAddr           string
	leaderElect          bool
	leaderElectionNS     string
	leaderElectionID     string
	leaseDuration        time.Duration
	renewDeadline        time.Duration
	retryPeriod          time.Duration
	targetPollInterval   time.Duration
	executorBackoffLimit int
	defaultHookTimeout   time.Duration
	hookRetryBackoff     time.Duration
	hookRetryBackoffMax  time.Duration
	pushgatewayURL       string
	pushgatewayTimeout   time.Duration
	hookAllowLocal       bool
	operatorHookNSSel    string
}

func main() {
	klog.InitFlags(nil)
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Empty: in-cluster config, else $KUBECONFIG.")
	flag.IntVar(&o.workers, "workers", defaultWorkers, "RestoreSessions synced in parallel.")
	flag.Float64Var(&o.kubeAPIQPS, "kube-api-qps", defaultKubeAPIQPS, "Sustained rate of requests per second the controller sends to the API server (client-side rate limit; Events have a limit of the same size of their own).")
	flag.IntVar(&o.kubeAPIBurst, "kube-api-burst", defaultKubeAPIBurst, "Requests the controller may send at once above --kube-api-qps before it is held to that rate.")
	flag.DurationVar(&o.resync, "resync-period", 10*time.Minute, "Informer resync period: how often every RestoreSession is re-examined without an event.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the /metrics endpoint; empty disables it.")
	flag.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz; empty disables them.")
	flag.BoolVar(&o.leaderElect, "leader-elect", true, "Elect a leader on a Lease so only one replica reconciles.")
	flag.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "Namespace of the Lease. Empty: the pod's namespace, else kube-system.")
	flag.StringVar(&o.leaderElectionID, "leader-election-id", "restore-controller", "Name of the Lease.")
	flag.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a leader's Lease is valid without renewal.")
	flag.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it gives up.")
	flag.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often candidates try to acquire or renew the Lease.")
	flag.DurationVar(&o.targetPollInterval, "target-poll-interval", 10*time.Second, "How often a restore waiting for its target looks again.")
	flag.DurationVar(&o.defaultHookTimeout, "default-hook-timeout", 5*time.Minute, "Timeout of an attempt of an Operator or Pod hook that sets none.")
	flag.DurationVar(&o.hookRetryBackoff, "hook-retry-backoff", time.Second, "Wait before retrying a hook whose first attempt failed; it doubles with each further failed attempt.")
	flag.DurationVar(&o.hookRetryBackoffMax, "hook-retry-backoff-max", time.Minute, "Longest wait between two attempts of a hook.")
	flag.BoolVar(&o.hookAllowLocal, "hook-allow-local-addresses", false, "Let the network actions of Operator and Pod hooks, which the controller performs from its own pod, connect to loopback, link-local, unspecified and cloud metadata addresses (127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10, 0.0.0.0, ::, 169.254.169.254, fd00:ec2::254, 100.100.100.200). Off: such connections are refused.")
	flag.StringVar(&o.operatorHookNSSel, "operator-hook-namespace-selector", "", "Label selector on Namespaces, e.g. restore.kubestash.com/operator-hooks=allowed: only RestoreSessions in matching namespaces may use Operator-executor HookTemplates, whose actions the controller performs from its own pod; elsewhere such a RestoreSession is Invalid. Empty: every namespace.")
	flag.IntVar(&o.executorBackoffLimit, "executor-backoff-limit", 2, "backoffLimit of restore Jobs: retries of a failed executor, which resume where it stopped.")
	flag.StringVar(&o.pushgatewayURL, "pushgateway-url", "", "Prometheus Pushgateway the final step of each restore pushes its metrics to, e.g. http://pushgateway.monitoring:9091 (user:password@ in it is sent as basic auth). Empty: no push.")
	flag.DurationVar(&o.pushgatewayTimeout, "pushgateway-timeout", metricspush.DefaultTimeout, "Bound of one metrics push; a push that fails or times out fails the restore (MetricsPushed False).")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := klog.FromContext(ctx)
	if err := run(ctx, o); err != nil {
		logger.Error(err, "restore-controller failed")
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
	klog.Flush()
}

func run(ctx context.Context, o options) error {
	logger := klog.FromContext(ctx)
	logger.Info("Starting restore-controller", "version", version.Get())
	// A nil *Pusher in the interface would not be "no push": assign only
	// a configured one.
	var pusher controller.MetricsPusher
	if o.pushgatewayURL != "" {
		p, err := metricspush.New(metricspush.Options{URL: o.pushgatewayURL, Timeout: o.pushgatewayTimeout})
		if err != nil {
			return fmt.Errorf("invalid --pushgateway-url or --pushgateway-timeout: %w", err)
		}
		pusher = p
	}
	operatorHookNamespaces, err := labels.Parse(o.operatorHookNSSel)
	if err != nil {
		return fmt.Errorf("invalid --operator-hook-namespace-selector %q: %w", o.operatorHookNSSel, err)
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = controller.ControllerName
	if o.kubeAPIQPS <= 0 || o.kubeAPIBurst <= 0 {
		return fmt.Errorf("--kube-api-qps (%v) and --kube-api-burst (%d) must be positive", o.kubeAPIQPS, o.kubeAPIBurst)
	}
	cfg.QPS, cfg.Burst = float32(o.kubeAPIQPS), o.kubeAPIBurst
	kubeClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Events get a client, and so a rate limit, of their own.
	eventClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	podHooks, err := hookaction.NewPodRunner(cfg)
	if err != nil {
		return fmt.Errorf("pod hook runner: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	controller.RegisterRESTClientMetrics(reg)
	workqueue.SetProvider(controller.WorkqueueMetricsProvider(reg))
	metrics := controller.NewMetrics(reg)

	var leading, synced atomic.Bool
	servers := startServers(ctx, o, reg, func() error {
		// A standby replica is ready; the leader once its caches synced.
		if leading.Load() && !synced.Load() {
			return errors.New("informer caches not synced")
		}
		return nil
	})
	defer servers()

	runController := func(ctx context.Context) {
		leading.Store(true)
		kubeInformers := kubeinformers.NewSharedInformerFactoryWithOptions(kubeClient, o.resync,
			kubeinformers.WithTweakListOptions(controller.ManagedJobsSelector))
		restoreInformers := informers.NewSharedInformerFactory(client, o.resync)
		c, err := controller.New(ctx, kubeClient, client, kubeInformers, restoreInformers, controller.Options{
			TargetPollInterval:            o.targetPollInterval,
			ExecutorBackoffLimit:          ptr.To(int32(o.executorBackoffLimit)),
			Metrics:                       metrics,
			PodHookRunner:                 podHooks,
			DefaultHookTimeout:            o.defaultHookTimeout,
			HookRetryBackoff:              o.hookRetryBackoff,
			HookRetryBackoffMax:           o.hookRetryBackoffMax,
			HookAddressPolicy:             hookaction.AddressPolicy{AllowLocal: o.hookAllowLocal},
			OperatorHookNamespaceSelector: operatorHookNamespaces,
			MetricsPusher:                 pusher,
			EventClient:                   eventClient,
		})
		if err != nil {
			logger.Error(err, "Unable to create the controller")
			return
		}
		kubeInformers.Start(ctx.Done())
		restoreInformers.Start(ctx.Done())
		go func() {
			if cacheSyncedWait(ctx, c.HasSynced) {
				synced.Store(true)
			}
		}()
		if err := c.Run(ctx, o.workers); err != nil {
			logger.Error(err, "Controller stopped")
		}
		kubeInformers.Shutdown()
		restoreInformers.Shutdown()
	}

	if !o.leaderElect {
		runController(ctx)
		return nil
	}
	id, err := os.Hostname()
	if err != nil {
		return err
	}
	id = id + "_" + uuid.NewString()
	ns := o.leaderElectionNS
	if ns == "" {
		ns = podNamespace()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.leaderElectionID, Namespace: ns},
		Client:     kubeClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	lostLease := errors.New("lost the leader Lease")
	var result error
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		ReleaseOnCancel: true,
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		Name:            o.leaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: runController,
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					// Another replica may already be reconciling:
					// stop at once rather than act twice.
					result = lostLease
				}
				logger.Info("Stopped leading", "identity", id)
			},
			OnNewLeader: func(identity string) {
				if identity != id {
					logger.Info("Another replica leads", "leader", identity)
				}
			},
		},
	})
	return result
}

func cacheSyncedWait(ctx context.Context, synced func() bool) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if synced() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return cfg, nil
}

// podNamespace is the namespace the controller runs in.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(b) > 0 {
		return string(b)
	}
	return "kube-system"
}

// startServers serves /metrics and the health endpoints until ctx ends.
// The returned function waits for them to shut down.
func startServers(ctx context.Context, o options, reg *prometheus.Registry, ready func() error) func() {
	logger := klog.FromContext(ctx)
	var servers []*http.Server
	if o.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		servers = append(servers, &http.Server{Addr: o.metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second})
	}
	if o.healthAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if err := ready(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})
		servers = append(servers, &http.Server{Addr: o.healthAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second})
	}
	done := make(chan struct{}, len(servers))
	for _, srv := range servers {
		go func() {
			defer func() { done <- struct{}{} }()
			logger.Info("Serving", "address", srv.Addr)
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error(err, "HTTP server failed", "address", srv.Addr)
			}
		}()
	}
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(shutdownCtx)
		}
		for range servers {
			<-done
		}
	}
}

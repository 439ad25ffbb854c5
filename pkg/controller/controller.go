package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/install"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	informers "github.com/restore-controller/restore/pkg/generated/informers/externalversions"
	addonslisters "github.com/restore-controller/restore/pkg/generated/listers/addons/v1alpha1"
	corelisters "github.com/restore-controller/restore/pkg/generated/listers/core/v1alpha1"
	storagelisters "github.com/restore-controller/restore/pkg/generated/listers/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/hookaction"
)

// ControllerName is the name of the workqueue, the event source and the
// field manager of the controller.
const ControllerName = "restore-controller"

// Options tune the controller. The zero value of each field picks a default.
type Options struct {
	// TargetPollInterval is how often a RestoreSession whose target does not
	// exist yet looks for it again (targets are not watched).
	TargetPollInterval time.Duration
	// ExecutorBackoffLimit is the backoffLimit of every restore Job: how
	// often a failed pod of the restore executor is retried (nil: 2).
	// Retries resume, they do not restart, because the restore executor
	// skips files already restored.
	ExecutorBackoffLimit *int32
	// MetricsPusher pushes a finished restore's metrics. Nil means no
	// Pushgateway is configured, and the push is a successful no-op.
	MetricsPusher MetricsPusher
	// Metrics receives the controller's own restore counters. Nil disables.
	Metrics *Metrics
	// PodHookRunner runs the actions of Pod-executor hooks in pods. Nil:
	// such hooks fail, saying so.
	PodHookRunner PodHookRunner
	// DefaultHookTimeout bounds an attempt of an Operator or Pod hook that
	// sets no timeout of its own, so that the goroutine making it ends
	// (default 5m). Function hooks run as Jobs and have no default.
	DefaultHookTimeout time.Duration
	// HookRetryBackoff is the wait before retrying a hook (of any executor)
	// whose first attempt failed; it doubles with each further failed
	// attempt, up to HookRetryBackoffMax (defaults 1s and 1m).
	HookRetryBackoff    time.Duration
	HookRetryBackoffMax time.Duration
	// HookAddressPolicy limits the addresses that the network actions of
	// Operator and Pod hooks, which the controller performs itself, may
	// connect to. The zero value refuses loopback, link-local, unspecified
	// and cloud metadata addresses; AllowLocal (restore-controller
	// --hook-allow-local-addresses) allows them.
	HookAddressPolicy hookaction.AddressPolicy
	// OperatorHookNamespaceSelector limits which namespaces' RestoreSessions
	// may use Operator-executor HookTemplates, whose actions the controller
	// performs from its own pod: those whose Namespace's labels match. A
	// RestoreSession elsewhere that uses one is Invalid. Nil or empty: every
	// namespace (restore-controller --operator-hook-namespace-selector).
	OperatorHookNamespaceSelector labels.Selector
	// Clock is the time source; tests replace it.
	Clock clock.PassiveClock
	// Recorder records Events. Nil: a recorder writing Events through
	// EventClient, started by New and stopped by Run.
	Recorder record.EventRecorder
	// EventClient writes the Events of the default Recorder. Nil:
	// kubeClient. A client of its own (restore-controller makes one) has
	// its own client-side rate limit, so Events, which are sent one at a
	// time in the background, never hold up a sync's requests.
	EventClient kubernetes.Interface
}

func (o *Options) setDefaults() {
	if o.TargetPollInterval == 0 {
		o.TargetPollInterval = 10 * time.Second
	}
	if o.ExecutorBackoffLimit == nil {
		o.ExecutorBackoffLimit = ptr.To[int32](2)
	}
	if o.DefaultHookTimeout == 0 {
		o.DefaultHookTimeout = 5 * time.Minute
	}
	if o.HookRetryBackoff == 0 {
		o.HookRetryBackoff = time.Second
	}
	if o.HookRetryBackoffMax == 0 {
		o.HookRetryBackoffMax = time.Minute
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// Controller reconciles RestoreSessions.
type Controller struct {
	kubeClient kubernetes.Interface
	client     versioned.Interface

	restoreSessions  corelisters.RestoreSessionLister
	restoreIndexer   cache.Indexer
	backupConfigs    corelisters.BackupConfigurationLister
	hookTemplates    corelisters.HookTemplateLister
	snapshots        storagelisters.SnapshotLister
	repositories     storagelisters.RepositoryLister
	backupStorages   storagelisters.BackupStorageLister
	addons           addonslisters.AddonLister
	functions        addonslisters.FunctionLister
	jobs             batchlisters.JobLister
	cachesSynced     []cache.InformerSynced
	eventBroadcaster record.EventBroadcaster
	recorder         record.EventRecorder
	queue            workqueue.TypedRateLimitingInterface[cache.ObjectName]
	// hookAttempts runs the attempts of Operator and Pod hooks outside the
	// workers (hookasync.go).
	hookAttempts *hookAttempts
	opts         Options
}

// New wires a Controller to the informers it reads. kubeInformers must be
// filtered to objects labelled app.kubernetes.io/managed-by=kubestash.com
// (see ManagedJobsSelector); the controller only reads Jobs from it.
// Start the factories after New and before Run.
func New(ctx context.Context, kubeClient kubernetes.Interface, client versioned.Interface,
	kubeInformers kubeinformers.SharedInformerFactory, restoreInformers informers.SharedInformerFactory, opts Options) (*Controller, error) {
	logger := klog.FromContext(ctx)
	opts.setDefaults()

	// Events about RestoreSessions are recorded with the scheme that knows
	// their kind.
	eventScheme := scheme.Scheme
	if err := install.AddToScheme(eventScheme); err != nil {
		return nil, fmt.Errorf("registering API types for events: %w", err)
	}
	var broadcaster record.EventBroadcaster
	recorder := opts.Recorder
	if recorder == nil {
		broadcaster = record.NewBroadcaster(record.WithContext(ctx))
		broadcaster.StartStructuredLogging(0)
		eventClient := opts.EventClient
		if eventClient == nil {
			eventClient = kubeClient
		}
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")})
		recorder = broadcaster.NewRecorder(eventScheme, corev1.EventSource{Component: ControllerName})
	}

	rsInformer := restoreInformers.Core().V1alpha1().RestoreSessions()
	if err := rsInformer.Informer().AddIndexers(cache.Indexers{dependencyIndex: dependencyIndexFunc}); err != nil {
		return nil, fmt.Errorf("adding RestoreSession indexer: %w", err)
	}
	bcInformer := restoreInformers.Core().V1alpha1().BackupConfigurations()
	htInformer := restoreInformers.Core().V1alpha1().HookTemplates()
	snapInformer := restoreInformers.Storage().V1alpha1().Snapshots()
	repoInformer := restoreInformers.Storage().V1alpha1().Repositories()
	bsInformer := restoreInformers.Storage().V1alpha1().BackupStorages()
	addonInformer := restoreInformers.Addons().V1alpha1().Addons()
	fnInformer := restoreInformers.Addons().V1alpha1().Functions()
	jobInformer := kubeInformers.Batch().V1().Jobs()

	c := &Controller{
		kubeClient:       kubeClient,
		client:           client,
		restoreSessions:  rsInformer.Lister(),
		restoreIndexer:   rsInformer.Informer().GetIndexer(),
		backupConfigs:    bcInformer.Lister(),
		hookTemplates:    htInformer.Lister(),
		snapshots:        snapInformer.Lister(),
		repositories:     repoInformer.Lister(),
		backupStorages:   bsInformer.Lister(),
		addons:           addonInformer.Lister(),
		functions:        fnInformer.Lister(),
		jobs:             jobInformer.Lister(),
		eventBroadcaster: broadcaster,
		recorder:         recorder,
		opts:             opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "RestoreSessions"},
		),
	}
	c.hookAttempts = newHookAttempts(c.queue.Add)

	handlers := []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{rsInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, obj any) { c.enqueue(obj) },
			DeleteFunc: c.enqueue,
		}},
		{jobInformer.Informer(), c.ownerHandler()},
		{snapInformer.Informer(), c.dependencyHandler(dependencyKeysOfSnapshot)},
		{repoInformer.Informer(), c.dependencyHandler(dependencyKeysOfObject("Repository"))},
		{bsInformer.Informer(), c.dependencyHandler(dependencyKeysOfObject("BackupStorage"))},
		{addonInformer.Informer(), c.dependencyHandler(dependencyKeysOfObject("Addon"))},
		{fnInformer.Informer(), c.dependencyHandler(dependencyKeysOfObject("Function"))},
		{bcInformer.Informer(), c.dependencyHandler(dependencyKeysOfBackupConfiguration)},
		{htInformer.Informer(), c.dependencyHandler(dependencyKeysOfObject("HookTemplate"))},
	}
	for _, h := range handlers {
		if _, err := h.informer.AddEventHandler(h.handler); err != nil {
			return nil, fmt.Errorf("adding event handler: %w", err)
		}
		c.cachesSynced = append(c.cachesSynced, h.informer.HasSynced)
	}
	others := make([]cache.SharedIndexInformer, 0, len(handlers))
	for _, h := range handlers {
		if h.informer != jobInformer.Informer() {
			others = append(others, h.informer)
		}
	}
	if err := setCacheTransforms(jobInformer.Informer(), others...); err != nil {
		return nil, fmt.Errorf("setting cache transforms: %w", err)
	}
	if opts.Metrics != nil {
		opts.Metrics.watchRestoreSessions(c.restoreSessions)
	}
	logger.V(2).Info("Controller wired to informers", "informers", len(handlers))
	return c, nil
}

// ManagedJobsSelector is the label selector of the Jobs informer's factory.
func ManagedJobsSelector(o *metav1.ListOptions) {
	o.LabelSelector = LabelManagedBy + "=" + ManagedByValue
}

// Run waits for the caches, then runs workers until ctx ends, and finally
// cancels the running hook attempts, drains the queue and stops the event
// broadcaster.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	if c.eventBroadcaster != nil {
		defer c.eventBroadcaster.Shutdown()
	}
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx)

	logger.Info("Starting RestoreSession controller")
	if ok := cache.WaitForCacheSync(ctx.Done(), c.cachesSynced...); !ok {
		return errors.New("failed to wait for caches to sync")
	}
	logger.Info("Starting workers", "count", workers)
	for range workers {
		go wait.UntilWithContext(ctx, c.runWorker, time.Second)
	}
	<-ctx.Done()
	logger.Info("Shutting down workers")
	// A cancelled attempt does not count; the next leader makes it again.
	c.hookAttempts.stop()
	return nil
}

// HasSynced reports whether every informer the controller reads has synced;
// /readyz uses it.
func (c *Controller) HasSynced() bool {
	for _, synced := range c.cachesSynced {
		if !synced() {
			return false
		}
	}
	return true
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextItem(ctx) {
	}
}

func (c *Controller) processNextItem(ctx context.Context) bool {
	ref, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(ref)
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "restoreSession", ref)
	ctx = klog.NewContext(ctx, logger)

	result, err := c.syncHandler(ctx, ref)
	switch {
	case err != nil:
		// A conflict only means the cache was behind; retry without noise.
		if !apierrors.IsConflict(err) && !errors.Is(err, errStaleCache) {
			utilruntime.HandleErrorWithContext(ctx, err, "Error syncing; requeuing for later retry", "objectReference", ref)
		}
		c.queue.AddRateLimited(ref)
	case result.requeueAfter > 0:
		c.queue.Forget(ref)
		c.queue.AddAfter(ref, result.requeueAfter)
	default:
		c.queue.Forget(ref)
	}
	return true
}

// enqueue adds the key of a RestoreSession.
func (c *Controller) enqueue(obj any) {
	ref, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(ref)
}

// ownerHandler enqueues the RestoreSession that controls a Job.
func (c *Controller) ownerHandler() cache.ResourceEventHandler {
	handle := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		job, ok := obj.(*batchv1.Job)
		if !ok {
			return
		}
		owner := metav1.GetControllerOf(job)
		if owner == nil || owner.Kind != kindRestoreSession || owner.APIVersion != corev1alpha1.SchemeGroupVersion.String() {
			return
		}
		c.queue.Add(cache.ObjectName{Namespace: job.Namespace, Name: owner.Name})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
		DeleteFunc: handle,
	}
}

// dependencyHandler enqueues every RestoreSession that refers to a changed
// object, found through the dependency index.
func (c *Controller) dependencyHandler(keysOf func(obj any) []string) cache.ResourceEventHandler {
	handle := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		for _, key := range keysOf(obj) {
			items, err := c.restoreIndexer.ByIndex(dependencyIndex, key)
			if err != nil {
				utilruntime.HandleError(err)
				continue
			}
			for _, item := range items {
				c.enqueue(item)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
		DeleteFunc: handle,
	}
}

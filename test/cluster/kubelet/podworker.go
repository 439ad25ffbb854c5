package kubelet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// podWorker drives one pod on the node through its life: volumes, init
// containers one by one, then the main containers together, restarts by
// restartPolicy, the terminal phase, and on deletion graceful termination
// followed by the final delete (grace period 0) that removes the pod.
//
// Invariant: status is only ever written by this worker (one writer per
// pod), from the state held under mu, so phases never go backwards.
type podWorker struct {
	k      *Kubelet
	pod    *corev1.Pod // as first seen; the spec of a pod is immutable in all that matters here
	dir    string
	logger klog.Logger

	pushMu      sync.Mutex // serialises status writes; taken before mu
	mu          sync.Mutex
	init        []*container
	main        []*container
	phase       corev1.PodPhase // set once terminal
	initialized bool
	volumesOK   bool
	message     string
	startTime   metav1.Time

	deleteOnce sync.Once
	deleting   chan struct{}
	grace      int64
	goneOnce   sync.Once
	gone       chan struct{}
}

func newPodWorker(k *Kubelet, pod *corev1.Pod) *podWorker {
	w := &podWorker{
		k:        k,
		pod:      pod.DeepCopy(),
		dir:      filepath.Join(k.cfg.RootDir, "pods", string(pod.UID)),
		logger:   klog.FromContext(k.ctx).WithValues("pod", klog.KObj(pod)),
		deleting: make(chan struct{}),
		gone:     make(chan struct{}),
		grace:    ptr.Deref(pod.Spec.TerminationGracePeriodSeconds, 30),
	}
	for i := range pod.Spec.InitContainers {
		w.init = append(w.init, w.newContainer(&w.pod.Spec.InitContainers[i], true))
	}
	for i := range pod.Spec.Containers {
		w.main = append(w.main, w.newContainer(&w.pod.Spec.Containers[i], false))
	}
	return w
}

// requestDeletion starts graceful termination (once).
func (w *podWorker) requestDeletion(pod *corev1.Pod) {
	w.deleteOnce.Do(func() {
		if pod.DeletionGracePeriodSeconds != nil {
			w.mu.Lock()
			w.grace = *pod.DeletionGracePeriodSeconds
			w.mu.Unlock()
		}
		close(w.deleting)
	})
}

func (w *podWorker) markGone() { w.goneOnce.Do(func() { close(w.gone) }) }

func (w *podWorker) isDeleting() bool {
	select {
	case <-w.deleting:
		return true
	default:
		return false
	}
}

func (w *podWorker) anyMapped() bool {
	for _, c := range append(append([]*container{}, w.init...), w.main...) {
		if c.binary != "" {
			return true
		}
	}
	return false
}

func (w *podWorker) run(ctx context.Context) {
	switch w.pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		// Finished before this kubelet saw it: only deletion is left.
		w.mu.Lock()
		w.phase = w.pod.Status.Phase
		w.mu.Unlock()
		w.waitAndFinalize(ctx)
		return
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		w.logger.Error(err, "Creating pod directory")
	}
	w.mu.Lock()
	w.startTime = metav1.Now()
	w.mu.Unlock()
	w.pushStatus(ctx)

	// The terminator: on deletion, stop running containers gracefully
	// right away, wherever run() is waiting. A process that starts after
	// this is killed by runContainer itself (it checks isDeleting).
	go func() {
		select {
		case <-w.deleting:
			w.mu.Lock()
			grace := w.grace
			w.mu.Unlock()
			w.killAll(time.Duration(grace) * time.Second)
		case <-ctx.Done():
		}
	}()

	if !w.anyMapped() {
		w.runFake(ctx)
		return
	}
	vols, ok := w.setup(ctx)
	if !ok {
		w.waitAndFinalize(ctx)
		return
	}
	policy := w.pod.Spec.RestartPolicy
	for _, c := range w.init {
		for attempt := 0; ; attempt++ {
			code, started := w.runContainer(ctx, c, vols)
			if w.isDeleting() || ctx.Err() != nil {
				w.waitAndFinalize(ctx)
				return
			}
			if started && code == 0 {
				break
			}
			if policy == corev1.RestartPolicyNever {
				w.finish(ctx, corev1.PodFailed)
				w.waitAndFinalize(ctx)
				return
			}
			if !w.backoff(ctx, c, attempt) {
				w.waitAndFinalize(ctx)
				return
			}
		}
	}
	w.mu.Lock()
	w.initialized = true
	w.mu.Unlock()
	w.pushStatus(ctx)

	var wg sync.WaitGroup
	for _, c := range w.main {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runMain(ctx, c, vols)
		}()
	}
	wg.Wait()
	if !w.isDeleting() && ctx.Err() == nil {
		phase := corev1.PodSucceeded
		for _, c := range w.main {
			if c.exitCode() != 0 {
				phase = corev1.PodFailed
			}
		}
		w.finish(ctx, phase)
	}
	w.waitAndFinalize(ctx)
}

// runMain runs one main container, restarting it as restartPolicy says.
func (w *podWorker) runMain(ctx context.Context, c *container, vols map[string]string) {
	for attempt := 0; ; attempt++ {
		code, started := w.runContainer(ctx, c, vols)
		if w.isDeleting() || ctx.Err() != nil {
			return
		}
		switch w.pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return
		case corev1.RestartPolicyOnFailure:
			if started && code == 0 {
				return
			}
		}
		if started && code == 0 {
			attempt = 0
		}
		if !w.backoff(ctx, c, attempt) {
			return
		}
	}
}

// backoff waits before restarting c (200ms doubling up to 5s, much shorter
// than a real kubelet's so that tests of restart behaviour are quick). It
// returns false if the pod is being deleted.
func (w *podWorker) backoff(ctx context.Context, c *container, attempt int) bool {
	d := 200 * time.Millisecond << min(attempt, 5)
	if d > 5*time.Second {
		d = 5 * time.Second
	}
	w.mu.Lock()
	c.restarts++
	c.last = c.state
	c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off " + d.String() + " restarting failed container"}}
	c.ready = false
	w.mu.Unlock()
	w.pushStatus(ctx)
	select {
	case <-time.After(d):
		return true
	case <-w.deleting:
		return false
	case <-ctx.Done():
		return false
	}
}

// setup prepares the volumes, retrying while their sources are not ready
// (claims not bound, secrets or service accounts not yet created). It
// returns false if the pod is deleted or volumes fail for good.
func (w *podWorker) setup(ctx context.Context) (map[string]string, bool) {
	for {
		vols, err := w.prepareVolumes(ctx)
		if err == nil {
			w.mu.Lock()
			w.volumesOK = true
			w.message = ""
			w.mu.Unlock()
			return vols, true
		}
		var nr errNotReady
		w.mu.Lock()
		w.message = err.Error()
		w.mu.Unlock()
		if !errors.As(err, &nr) {
			w.logger.Error(err, "Preparing volumes")
			w.finish(ctx, corev1.PodFailed)
			return nil, false
		}
		w.logger.V(3).Info("Waiting for volumes", "reason", err.Error())
		w.pushStatus(ctx)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-w.deleting:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// runFake reports a pod without mapped images Running and Ready once its
// claims are bound, and keeps it so until deleted.
func (w *podWorker) runFake(ctx context.Context) {
	for _, v := range w.pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		for {
			_, err := w.claimDir(ctx, v.PersistentVolumeClaim.ClaimName)
			if err == nil {
				break
			}
			w.mu.Lock()
			w.message = err.Error()
			w.mu.Unlock()
			select {
			case <-time.After(300 * time.Millisecond):
			case <-w.deleting:
				w.waitAndFinalize(ctx)
				return
			case <-ctx.Done():
				return
			}
		}
	}
	now := metav1.Now()
	w.mu.Lock()
	w.volumesOK, w.initialized, w.message = true, true, ""
	for _, c := range w.init {
		c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}}
		c.containerID = "fake://" + string(w.pod.UID) + "/" + c.spec.Name
	}
	for _, c := range w.main {
		c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
		c.ready, c.started = true, true
		c.containerID = "fake://" + string(w.pod.UID) + "/" + c.spec.Name
	}
	w.mu.Unlock()
	w.pushStatus(ctx)
	w.logger.V(2).Info("Pod reported running (no mapped image)")
	w.waitAndFinalize(ctx)
}

// finish records a terminal phase.
func (w *podWorker) finish(ctx context.Context, phase corev1.PodPhase) {
	w.mu.Lock()
	if w.phase == "" {
		w.phase = phase
	}
	w.mu.Unlock()
	w.logger.V(2).Info("Pod finished", "phase", phase)
	w.pushStatus(ctx)
}

// waitAndFinalize waits for the deletion of the pod, then stops its
// containers gracefully and deletes it for good.
func (w *podWorker) waitAndFinalize(ctx context.Context) {
	select {
	case <-w.deleting:
	case <-ctx.Done():
		return
	}
	w.mu.Lock()
	grace := w.grace
	w.mu.Unlock()
	w.killAll(time.Duration(grace) * time.Second)

	w.mu.Lock()
	now := metav1.Now()
	for _, c := range append(append([]*container{}, w.init...), w.main...) {
		if c.state.Terminated == nil && c.started {
			c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: now}}
		}
		c.ready = false
	}
	if w.phase == "" {
		w.phase = corev1.PodFailed
		if allSucceeded(w.main) {
			w.phase = corev1.PodSucceeded
		}
	}
	w.mu.Unlock()
	w.pushStatus(ctx)

	uid := w.pod.UID
	err := w.k.client.CoreV1().Pods(w.pod.Namespace).Delete(ctx, w.pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.logger.Error(err, "Final pod deletion")
	}
	w.logger.V(2).Info("Pod terminated and deleted")
}

func allSucceeded(cs []*container) bool {
	for _, c := range cs {
		if c.state.Terminated == nil || c.state.Terminated.ExitCode != 0 {
			return false
		}
	}
	return true
}

package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is the state of one container of a pod, guarded by the pod
// worker's mu.
type container struct {
	spec        *corev1.Container
	isInit      bool
	binary      string // mapped executable; empty if the image is not mapped
	state       corev1.ContainerState
	last        corev1.ContainerState
	restarts    int32
	ready       bool
	started     bool
	containerID string

	pid  int           // process group of the running process, 0 if none
	done chan struct{} // closed when the running process has been reaped
}

func (w *podWorker) newContainer(spec *corev1.Container, isInit bool) *container {
	bin, _ := w.k.binaryFor(spec.Image)
	reason := "ContainerCreating"
	if !isInit && len(w.pod.Spec.InitContainers) > 0 {
		reason = "PodInitializing"
	}
	return &container{
		spec: spec, isInit: isInit, binary: bin,
		state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
	}
}

func (c *container) exitCode() int32 {
	if c.state.Terminated != nil {
		return c.state.Terminated.ExitCode
	}
	return -1
}

// runContainer runs one attempt of c and returns its exit code; started is
// false if the process could not even be started. A container whose image
// is not mapped completes at once if it is an init container, and otherwise
// "runs" (Ready, nothing executed) until the pod is deleted.
func (w *podWorker) runContainer(ctx context.Context, c *container, vols map[string]string) (code int32, started bool) {
	if c.binary == "" {
		return w.runUnmapped(ctx, c)
	}
	cmd, logFile, term, err := w.startProcess(ctx, c, vols)
	for nr := (errNotReady{}); errors.As(err, &nr); cmd, logFile, term, err = w.startProcess(ctx, c, vols) {
		// A referenced secret, config map or service account does not
		// exist yet: wait in ContainerCreating, as a kubelet does.
		w.mu.Lock()
		c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}}
		w.mu.Unlock()
		w.pushStatus(ctx)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-w.deleting:
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
	if err != nil {
		w.logger.Error(err, "Starting container", "container", c.spec.Name)
		w.mu.Lock()
		now := metav1.Now()
		c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now}}
		w.mu.Unlock()
		w.pushStatus(ctx)
		return 128, false
	}
	defer logFile.Close()
	startedAt := metav1.Now()
	done := make(chan struct{})
	w.mu.Lock()
	c.pid, c.done = cmd.Process.Pid, done
	c.containerID = fmt.Sprintf("process://%d", cmd.Process.Pid)
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: startedAt}}
	// No probes: a started container is ready.
	c.started, c.ready = true, !c.isInit
	w.mu.Unlock()
	if w.isDeleting() {
		// Deletion began while the process was starting, after killAll
		// looked for processes: stop it here.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	w.logger.V(2).Info("Container started", "container", c.spec.Name, "binary", c.binary, "pid", cmd.Process.Pid,
		"limits", c.spec.Resources.Limits, "requests", c.spec.Resources.Requests)
	w.pushStatus(ctx)

	werr := cmd.Wait()
	// Kill whatever the container left behind in its process group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	close(done)
	code = exitCodeOf(werr)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	message := term.message(c.spec.TerminationMessagePolicy, code)
	w.mu.Lock()
	c.pid = 0
	c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, Message: message, StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: c.containerID}}
	c.ready = false
	w.mu.Unlock()
	w.logger.V(2).Info("Container exited", "container", c.spec.Name, "exitCode", code)
	w.pushStatus(ctx)
	return code, true
}

func (w *podWorker) runUnmapped(ctx context.Context, c *container) (int32, bool) {
	now := metav1.Now()
	w.mu.Lock()
	c.containerID = "fake://" + string(w.pod.UID) + "/" + c.spec.Name
	if c.isInit {
		c.started = true
		c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}}
		w.mu.Unlock()
		return 0, true
	}
	c.started, c.ready = true, true
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	w.mu.Unlock()
	w.pushStatus(ctx)
	select {
	case <-w.deleting:
	case <-ctx.Done():
	}
	w.mu.Lock()
	c.ready = false
	c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: metav1.Now()}}
	w.mu.Unlock()
	return 0, true
}

// termination is where one container start's termination message comes
// from, as the kubelet reads it: the file bound at the container's
// terminationMessagePath, or, with FallbackToLogsOnError, for a failed
// container that left it empty, the tail of what this start logged.
type termination struct {
	file      string // host file bound at terminationMessagePath
	log       string // the container's log file
	logOffset int64  // where this start's output begins in log
}

// Limits of a termination message, the kubelet's.
const (
	terminationMessageMaxBytes    = 4096
	terminationMessageLogMaxBytes = 2048
	terminationMessageLogMaxLines = 80
)

func (t termination) message(policy corev1.TerminationMessagePolicy, code int32) string {
	if data, err := os.ReadFile(t.file); err == nil && len(data) > 0 {
		return string(data[:min(len(data), terminationMessageMaxBytes)])
	}
	if policy != corev1.TerminationMessageFallbackToLogsOnError || code == 0 {
		return ""
	}
	data, err := os.ReadFile(t.log)
	if err != nil || int64(len(data)) < t.logOffset {
		return ""
	}
	data = data[t.logOffset:]
	lines := strings.SplitAfter(string(data), "\n")
	if n := len(lines); n > terminationMessageLogMaxLines+1 {
		lines = lines[n-terminationMessageLogMaxLines-1:]
	}
	tail := strings.Join(lines, "")
	if len(tail) > terminationMessageLogMaxBytes {
		tail = tail[len(tail)-terminationMessageLogMaxBytes:]
	}
	return tail
}

// startProcess writes the shim spec for c and starts the shim (this very
// executable) in a new mount namespace; see shim.go.
func (w *podWorker) startProcess(ctx context.Context, c *container, vols map[string]string) (*exec.Cmd, *os.File, termination, error) {
	var term termination
	env, err := w.containerEnv(ctx, c.spec)
	if err != nil {
		return nil, nil, term, err
	}
	// The mapped binary stands in for the image's entrypoint: it replaces
	// command[0]; the rest of command, then args, are its arguments.
	argv := []string{c.binary}
	if len(c.spec.Command) > 0 {
		argv = append(argv, c.spec.Command[1:]...)
	}
	argv = append(argv, c.spec.Args...)
	argv = append(argv[:1], expandArgs(argv[1:], env)...)

	mounts, err := w.containerMounts(ctx, c, vols)
	if err != nil {
		return nil, nil, term, err
	}
	w.mu.Lock()
	attempt := c.restarts
	w.mu.Unlock()
	runDir := filepath.Join(w.dir, "run", fmt.Sprintf("%s-%d", c.spec.Name, attempt))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, nil, term, err
	}
	// The termination message file, bound where the container expects it
	// (the API defaults terminationMessagePath to /dev/termination-log),
	// so nothing the container writes there reaches the host's path.
	term.file = filepath.Join(runDir, "termination-log")
	if err := os.WriteFile(term.file, nil, 0o666); err != nil {
		return nil, nil, term, err
	}
	termPath := c.spec.TerminationMessagePath
	if termPath == "" {
		termPath = corev1.TerminationMessagePathDefault
	}
	mounts = append(mounts, shimMount{Source: term.file, Target: termPath})
	spec := shimSpec{Root: filepath.Join(runDir, "root"), Argv: argv, Env: env, WorkingDir: c.spec.WorkingDir, Mounts: mounts}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, term, err
	}
	specPath := filepath.Join(runDir, "spec.json")
	if err := os.WriteFile(specPath, data, 0o600); err != nil {
		return nil, nil, term, err
	}

	logPath := w.k.ContainerLogPath(w.pod.Namespace, w.pod.Name, c.spec.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, nil, term, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, term, err
	}
	term.log = logPath
	if fi, err := logFile.Stat(); err == nil {
		term.logOffset = fi.Size()
	}
	cmd := exec.Command(w.k.self)
	cmd.Args = []string{"process-kubelet-shim:" + w.pod.Namespace + "/" + w.pod.Name + "/" + c.spec.Name}
	cmd.Env = []string{shimEnv + "=" + specPath}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Setpgid: the container and its children form one group that is
	// signalled as a whole. Pdeathsig: containers die with the kubelet.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, term, err
	}
	return cmd, logFile, term, nil
}

// containerMounts lists the bind mounts of c: its volumeMounts (with
// subPath), plus the default service account credentials.
func (w *podWorker) containerMounts(ctx context.Context, c *container, vols map[string]string) ([]shimMount, error) {
	var mounts []shimMount
	haveSA := false
	for _, m := range c.spec.VolumeMounts {
		src, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: no such volume", m.Name)
		}
		if m.SubPath != "" {
			if strings.Contains(m.SubPath, "..") {
				return nil, fmt.Errorf("volumeMount %s: subPath must not contain '..'", m.Name)
			}
			src = filepath.Join(src, m.SubPath)
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, err
				}
			}
		}
		if filepath.Clean(m.MountPath) == serviceAccountMountPath {
			haveSA = true
		}
		mounts = append(mounts, shimMount{Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	if !haveSA && (w.pod.Spec.AutomountServiceAccountToken == nil || *w.pod.Spec.AutomountServiceAccountToken) {
		dir, err := w.serviceAccountDir(ctx)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, shimMount{Source: dir, Target: serviceAccountMountPath, ReadOnly: true})
	}
	return mounts, nil
}

// killAll stops every running container of the pod: SIGTERM to its process
// group, SIGKILL after grace.
func (w *podWorker) killAll(grace time.Duration) {
	w.mu.Lock()
	var pids []int
	var dones []chan struct{}
	for _, c := range append(append([]*container{}, w.init...), w.main...) {
		if c.pid != 0 {
			pids = append(pids, c.pid)
			dones = append(dones, c.done)
		}
	}
	w.mu.Unlock()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for i, d := range dones {
		select {
		case <-d:
		case <-deadline:
			for _, pid := range pids[i:] {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			<-d
		}
	}
	for _, d := range dones {
		<-d
	}
}

// exitCodeOf maps a Wait error to a container exit code (128+signal for a
// signalled process, as a container runtime reports it).
func exitCodeOf(err error) int32 {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int32(ws.Signal())
		}
		return int32(ee.ExitCode())
	}
	return 128
}

package hookaction

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/klog/v2"
	"k8s.io/streaming/pkg/httpstream"
)

// OutputLimit is how many bytes of an exec command's stdout, and of its
// stderr, ExecOutput keeps: the last ones, where a failing command usually
// says why.
const OutputLimit = 64 << 10

// ExecOutput is what a command printed, each stream cut to its last
// OutputLimit bytes.
type ExecOutput struct {
	Stdout, Stderr string
	// Truncated is set when either stream was longer than OutputLimit.
	Truncated bool
}

// PodRunner runs Pod-executor actions. It holds no per-call state and is
// safe for concurrent use.
type PodRunner struct {
	config *rest.Config
	core   rest.Interface // builds pods/exec URLs
}

// NewPodRunner returns a PodRunner that execs through the API server
// config points at. Its identity needs "get" and "create" on pods/exec in
// the pods' namespaces: the WebSocket upgrade is a GET that Kubernetes 1.35
// and later also authorizes as create, and SPDY is a POST.
func NewPodRunner(config *rest.Config) (*PodRunner, error) {
	if config == nil {
		return nil, errors.New("hookaction: a rest.Config is required")
	}
	core, err := corev1client.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("core/v1 client: %w", err)
	}
	return &PodRunner{config: rest.CopyConfig(config), core: core.RESTClient()}, nil
}

// Exec runs command in containerName of pod (the pod's first container
// when empty) through the pods/exec subresource, without stdin or TTY. It
// returns nil only when the command exits 0, and an *ExitError when it
// exits non-zero; the output is returned either way. Errors do not name the
// pod: the caller knows it (Run's PodsError adds it).
func (r *PodRunner) Exec(ctx context.Context, pod *corev1.Pod, containerName string, command []string) (ExecOutput, error) {
	if len(command) == 0 {
		return ExecOutput{}, errors.New("action.exec.command is empty")
	}
	container, err := execContainer(pod, containerName)
	if err != nil {
		return ExecOutput{}, err
	}
	u := r.core.Post().
		Namespace(pod.Namespace).Resource("pods").Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec).
		URL()

	// An executor keeps per-stream state, so each call builds its own.
	// WebSocket wants GET (RFC 6455), SPDY POST. The fallback happens only
	// when the upgrade itself is refused, as kubectl exec does; an error
	// after streaming began is final.
	ws, err := remotecommand.NewWebSocketExecutor(r.config, http.MethodGet, u.String())
	if err != nil {
		return ExecOutput{}, fmt.Errorf("exec: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(r.config, http.MethodPost, u)
	if err != nil {
		return ExecOutput{}, fmt.Errorf("exec: %w", err)
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return ExecOutput{}, fmt.Errorf("exec: %w", err)
	}

	var stdout, stderr tailBuffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	// After a cancelled context the stream goroutines may still write:
	// tailBuffer is locked, and the snapshot is what arrived until now.
	outBytes, outDropped := stdout.snapshot()
	errBytes, errDropped := stderr.snapshot()
	out := ExecOutput{Stdout: string(outBytes), Stderr: string(errBytes), Truncated: outDropped || errDropped}

	logger := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod), "container", container, "program", command[0])
	var exitErr utilexec.ExitError
	switch {
	case err == nil:
		logger.V(2).Info("Hook command succeeded")
		return out, nil
	case errors.As(err, &exitErr):
		logger.V(2).Info("Hook command failed", "exitCode", exitErr.ExitStatus())
		return out, &ExitError{Container: container, Program: command[0], Code: exitErr.ExitStatus(), Stderr: excerpt(errBytes, true)}
	default:
		return out, fmt.Errorf("exec %q in container %q: %w", command[0], container, err)
	}
}

// ExitError is Exec's error when the command ran and exited non-zero.
type ExitError struct {
	Container string
	// Program is the command's first element; its arguments are left out
	// because substituted parameters may carry secrets.
	Program string
	Code    int
	// Stderr is an excerpt of at most 1 KiB of the end of stderr.
	Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("command %q in container %q exited with code %d; stderr: %s", e.Program, e.Container, e.Code, e.Stderr)
}

// execContainer is the container an exec action runs in.
func execContainer(pod *corev1.Pod, name string) (string, error) {
	if len(pod.Spec.Containers) == 0 {
		return "", errors.New("the pod has no containers")
	}
	if name == "" {
		return pod.Spec.Containers[0].Name, nil
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return name, nil
		}
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("action.containerName: the pod has no container %q (it has %s)", name, strings.Join(names, ", "))
}

// tailBuffer is an io.Writer that keeps the last OutputLimit bytes written.
// It is locked because a cancelled stream's goroutines can still write
// while Exec reads it.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= OutputLimit {
		t.dropped = t.dropped || len(t.buf) > 0 || len(p) > OutputLimit
		t.buf = append(t.buf[:0], p[len(p)-OutputLimit:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - OutputLimit; over > 0 {
		t.dropped = true
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// snapshot returns a copy of the kept bytes and whether any were dropped.
func (t *tailBuffer) snapshot() ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.buf), t.dropped
}

package framework

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/restore-controller/restore/test/cluster"
)

// FreeAddress returns a loopback host:port nothing listens on right now: a
// port to start a server on, or one whose connections are refused.
func FreeAddress(t testing.TB) string {
	t.Helper()
	addr, err := FindFreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// FindFreeAddress is FreeAddress for setup that runs outside a test.
func FindFreeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// HTTPGet returns the status code and body of a GET of url, giving up
// after 5 s.
func HTTPGet(url string) (code int, body string, err error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// RunCommand runs the binary bin with args on the host, as a user would
// run it, with env added to the test's environment, and returns its
// combined output. The test fails, with the output, if it fails or has not
// finished within 2 minutes.
func RunCommand(t testing.TB, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// HTTPReady is a StartProcess readiness check: a GET of url is answered
// with a status below 500 (a server refusing an anonymous request is up;
// one answering 503 is still starting).
func HTTPReady(url string) func(ctx context.Context) bool {
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < http.StatusInternalServerError
	}
}

// StartProcess runs the peer binary bin with args for the rest of the
// test and returns once ready reports true. The process dies with the test
// binary (Pdeathsig) and is stopped when the test ends (SIGTERM, SIGKILL
// after 10 s). Its output goes to a log file that a failed test prints.
// The test fails if the process exits before it is ready or is not ready
// within startTimeout.
func StartProcess(t testing.TB, name, bin string, args []string, ready func(ctx context.Context) bool) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	// done is closed once the process has been reaped; waitErr is its
	// exit status then.
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, raw)
		}
	})
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("%s exited: %v", name, waitErr)
		default:
		}
		return ready(ctx), nil
	})
	if err != nil {
		t.Fatalf("%s did not start: %v", name, err)
	}
}

// startTimeout bounds a peer's start: Azurite (node) takes 10-15 s to
// listen on 2 cores busy compiling.
const startTimeout = time.Minute

// ToolPath is the peer binary name built by `make tools`
// (hack/build-tools.sh) into $RESTORE_TOOLS_DIR, by default
// <repo>/_output/tools. A missing tool fails the test rather than skipping
// it: CI builds the tools first, so a skip would hide a broken build.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("RESTORE_TOOLS_DIR")
	if dir == "" {
		root, err := cluster.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "_output", "tools")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found in %s (RESTORE_TOOLS_DIR): run `make tools`: %v", name, dir, err)
	}
	return p
}

package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// toolPath is a peer binary built by `make tools` (hack/build-tools.sh).
// Missing tools fail the test: CI builds them first, so a skip would hide
// a broken build.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(toolsDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found in %s (RESTORE_TOOLS_DIR): run `make tools`: %v", name, toolsDir, err)
	}
	return p
}

// kopiaCLI runs the real kopia CLI v0.21.1 with its own config file.
type kopiaCLI struct {
	t        *testing.T
	bin      string
	config   string
	password string
}

func newKopiaCLI(t *testing.T, password string) *kopiaCLI {
	return &kopiaCLI{t: t, bin: toolPath(t, "kopia"), config: filepath.Join(t.TempDir(), "kopia.config"), password: password}
}

func (k *kopiaCLI) run(args ...string) []byte {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, append(args, "--config-file", k.config)...)
	cmd.Env = append(os.Environ(), "KOPIA_PASSWORD="+k.password, "KOPIA_CHECK_FOR_UPDATES=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		k.t.Fatalf("kopia %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// snapshot snapshots dir with the CLI and returns the manifest ID.
func (k *kopiaCLI) snapshot(dir string) string {
	k.t.Helper()
	k.run("snapshot", "create", dir)
	var snaps []struct {
		ID     string `json:"id"`
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
	}
	out := k.run("snapshot", "list", dir, "--json")
	if err := json.Unmarshal(out, &snaps); err != nil || len(snaps) == 0 {
		k.t.Fatalf("kopia snapshot list: %v: %s", err, out)
	}
	return snaps[len(snaps)-1].ID
}

// versitygw is a running S3 server (versitygw v1.8.0, posix backend).
type versitygw struct {
	endpoint       string // host:port
	access, secret string
	dir            string
}

// startVersitygw starts the S3 server on a free port, waits until it
// answers and stops it when the test ends.
func startVersitygw(t *testing.T) *versitygw {
	t.Helper()
	bin := toolPath(t, "versitygw")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	gw := &versitygw{endpoint: addr, access: "restore-test", secret: "restore-test-secret", dir: t.TempDir()}
	logPath := filepath.Join(t.TempDir(), "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--access", gw.access, "--secret", gw.secret, "--port", addr, "posix", gw.dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			t.Logf("versitygw log:\n%s", raw)
		}
	})
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return true, nil
	})
	if err != nil {
		raw, _ := os.ReadFile(logPath)
		t.Fatalf("versitygw did not start: %v\n%s", err, raw)
	}
	return gw
}

// makeBucket creates bucket and returns a client of the server.
func (gw *versitygw) makeBucket(ctx context.Context, t *testing.T, bucket string) *minio.Client {
	t.Helper()
	mc, err := minio.New(gw.endpoint, &minio.Options{Creds: credentials.NewStaticV4(gw.access, gw.secret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket: %v", err)
	}
	return mc
}

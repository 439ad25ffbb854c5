package framework

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Versitygw is a running S3 server (versitygw, posix backend) for a test.
type Versitygw struct {
	Endpoint       string // host:port, plain HTTP
	Access, Secret string
	Dir            string // the posix backend's directory
}

// StartVersitygw starts the versitygw binary bin on a free port, waits
// until it answers and stops it when the test ends; a failed test logs the
// server's output.
func StartVersitygw(t testing.TB, bin string) *Versitygw {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	gw := &Versitygw{Endpoint: addr, Access: "restore-test", Secret: "restore-test-secret", Dir: t.TempDir()}
	logPath := filepath.Join(t.TempDir(), "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--access", gw.Access, "--secret", gw.Secret, "--port", addr, "posix", gw.Dir)
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

// MakeBucket creates bucket and returns a client of the server.
func (gw *Versitygw) MakeBucket(ctx context.Context, t testing.TB, bucket string) *minio.Client {
	t.Helper()
	mc, err := minio.New(gw.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(gw.Access, gw.Secret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	return mc
}

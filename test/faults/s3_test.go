package faults

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/restore-controller/restore/test/framework"
)

// s3Peer is versitygw behind a throttling TCP proxy: restores read at
// rate bytes/s (0: unthrottled), so a fault can be injected while they
// run, and the server can be stopped and started again on the same
// address with its data (stopServer, startServer). The executor and the
// seeding snapshot reach it at endpoint, the proxy's address.
type s3Peer struct {
	endpoint, upstream string
	access, secret     string
	dir, bin, logPath  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	listener net.Listener
	conns    map[net.Conn]struct{}
	// rate is the proxy's bandwidth towards clients, shared by all
	// connections; next is when the next chunk may be sent.
	rate int64
	next time.Time
}

func startS3(t *testing.T) *s3Peer {
	t.Helper()
	s := &s3Peer{
		endpoint: framework.FreeAddress(t), upstream: framework.FreeAddress(t),
		access: "faults", secret: "faults-secret-key",
		dir: t.TempDir(), bin: framework.ToolPath(t, "versitygw"),
		logPath: filepath.Join(t.TempDir(), "versitygw.log"),
		conns:   map[net.Conn]struct{}{},
	}
	t.Cleanup(func() {
		s.stopServer()
		if t.Failed() {
			raw, _ := os.ReadFile(s.logPath)
			t.Logf("versitygw log:\n%s", raw)
		}
	})
	if err := s.startServer(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw := &framework.Versitygw{Endpoint: s.upstream, Access: s.access, Secret: s.secret, Dir: s.dir}
	gw.MakeBucket(ctx, t, bucket)
	return s
}

// setRate sets the proxy's bandwidth in bytes/s (0: unthrottled).
func (s *s3Peer) setRate(bytesPerSecond int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = bytesPerSecond
}

// startServer starts versitygw and the proxy on their addresses and waits
// until the server answers.
func (s *s3Peer) startServer() error {
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, "--access", s.access, "--secret", s.secret, "--port", s.upstream, "posix", s.dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	ready := framework.HTTPReady("http://" + s.upstream + "/")
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, errors.New("versitygw exited; see " + s.logPath)
		default:
		}
		return ready(ctx), nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	// The old listener's port may linger briefly after a stop.
	var l net.Listener
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		var lerr error
		l, lerr = net.Listen("tcp", s.endpoint)
		return lerr == nil, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	s.mu.Lock()
	s.cmd, s.exited, s.listener = cmd, exited, l
	s.mu.Unlock()
	go s.accept(l)
	return nil
}

// stopServer SIGKILLs versitygw and closes the proxy's listener and every
// connection through it: clients get connection refused until
// startServer.
func (s *s3Peer) stopServer() {
	s.mu.Lock()
	cmd, exited, l := s.cmd, s.exited, s.listener
	s.cmd, s.listener = nil, nil
	for conn := range s.conns {
		_ = conn.Close()
	}
	s.mu.Unlock()
	if l != nil {
		_ = l.Close()
	}
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (s *s3Peer) accept(l net.Listener) {
	for {
		client, err := l.Accept()
		if err != nil {
			return
		}
		go s.forward(client)
	}
}

// forward copies one connection each way, throttling what goes to the
// client.
func (s *s3Peer) forward(client net.Conn) {
	server, err := net.Dial("tcp", s.upstream)
	if err != nil {
		_ = client.Close()
		return
	}
	s.mu.Lock()
	s.conns[client], s.conns[server] = struct{}{}, struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, client)
		delete(s.conns, server)
		s.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
	}()
	go func() {
		_, _ = io.Copy(server, client)
		_ = server.Close()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			s.throttle(n)
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// throttle waits until n more bytes fit the rate.
func (s *s3Peer) throttle(n int) {
	s.mu.Lock()
	if s.rate == 0 {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if s.next.Before(now) {
		s.next = now
	}
	s.next = s.next.Add(time.Duration(int64(n) * int64(time.Second) / s.rate))
	wait := s.next.Sub(now)
	s.mu.Unlock()
	time.Sleep(wait)
}

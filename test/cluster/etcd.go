package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// startEtcd starts a single-member etcd on free loopback ports with fsync
// disabled (the data is thrown away with the cluster) and waits until it
// reports healthy. It returns the client URL.
func startEtcd(ctx context.Context, bin, dir, logDir string) (*process, string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	p, err := startProcess(ctx, "etcd", logDir, bin, []string{
		"--name=default",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		"--unsafe-no-fsync",
		"--log-level=warn",
	})
	if err != nil {
		return nil, "", err
	}
	hc := &http.Client{Timeout: time.Second}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if done, werr := p.exited(); done {
			return false, p.errExited(werr)
		}
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`), nil
	})
	if err != nil {
		p.stop(time.Second)
		return nil, "", fmt.Errorf("waiting for etcd: %w", err)
	}
	return p, client, nil
}

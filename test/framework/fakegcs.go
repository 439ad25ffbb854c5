package framework

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// FakeGCS is a running Google Cloud Storage emulator (fake-gcs-server,
// in-memory backend) for a test.
type FakeGCS struct {
	// URL is http://127.0.0.1:port, the value for STORAGE_EMULATOR_HOST.
	URL string
}

// StartFakeGCS starts fake-gcs-server, as built by `make tools`
// (ToolPath), on a free port, waits until it answers and stops it when the
// test ends. Google's client finds it through STORAGE_EMULATOR_HOST, a
// process-wide setting: the caller sets it (t.Setenv, or a Job's env).
func StartFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	bin := ToolPath(t, "fake-gcs-server")
	addr := FreeAddress(t)
	host, port, _ := strings.Cut(addr, ":")
	g := &FakeGCS{URL: "http://" + addr}
	// -public-host is the host the server answers to and writes into
	// object URLs; without it, it expects storage.googleapis.com.
	StartProcess(t, "fake-gcs-server", bin, []string{"-scheme", "http", "-host", host, "-port", port,
		"-public-host", addr, "-backend", "memory", "-log-level", "warn"},
		HTTPReady(g.URL+"/storage/v1/b"))
	return g
}

// MakeBucket creates bucket through the JSON API.
func (g *FakeGCS) MakeBucket(ctx context.Context, t testing.TB, bucket string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/storage/v1/b",
		strings.NewReader(fmt.Sprintf(`{"name": %q}`, bucket)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating bucket %s: %s", bucket, resp.Status)
	}
}

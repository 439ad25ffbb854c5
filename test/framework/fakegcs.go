package framework

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
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
	if err := CreateFakeGCSBucket(ctx, g.URL, bucket); err != nil {
		t.Fatal(err)
	}
}

// CreateFakeGCSBucket creates bucket on the fake-gcs-server at url
// (http://host:port) through the JSON API; a bucket that exists already
// is fine.
func CreateFakeGCSBucket(ctx context.Context, url, bucket string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/storage/v1/b",
		strings.NewReader(fmt.Sprintf(`{"name": %q}`, bucket)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("creating bucket %s: %s", bucket, resp.Status)
	}
	return nil
}

// CountObjects is the number of objects in bucket whose names start with
// prefix (one listing page: enough to tell none from some).
func (g *FakeGCS) CountObjects(ctx context.Context, t testing.TB, bucket, prefix string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		g.URL+"/storage/v1/b/"+url.PathEscape(bucket)+"/o?prefix="+url.QueryEscape(prefix), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("listing gs://%s/%s: %v", bucket, prefix, err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("listing gs://%s/%s: %s", bucket, prefix, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("listing gs://%s/%s: %v", bucket, prefix, err)
	}
	return len(list.Items)
}

// FakeServiceAccountKey is a well-formed service account JSON key with a
// fresh private key: what a GOOGLE_SERVICE_ACCOUNT_JSON_KEY holds. An
// emulator accepts it without checking.
func FakeServiceAccountKey(t testing.TB) string {
	t.Helper()
	key, err := NewFakeServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// NewFakeServiceAccountKey is FakeServiceAccountKey outside a test (the
// demo).
func NewFakeServiceAccountKey() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "restore-test",
		"private_key_id": "test",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "restore-test@restore-test.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      "https://oauth2.googleapis.com/token",
	})
	return string(raw), err
}

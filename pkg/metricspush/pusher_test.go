package metricspush

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		// want* are the resolved settings of a valid Pusher.
		wantURL, wantJob, wantUser, wantPassword string
		wantTimeout                              time.Duration
	}{
		{name: "defaults", opts: Options{URL: "http://pgw:9091"},
			wantURL: "http://pgw:9091", wantJob: DefaultJob, wantTimeout: DefaultTimeout},
		{name: "everything set", opts: Options{URL: "https://pgw.example.com/prefix", Job: "restores", Timeout: time.Second, Username: "u", Password: "p"},
			wantURL: "https://pgw.example.com/prefix", wantJob: "restores", wantTimeout: time.Second, wantUser: "u", wantPassword: "p"},
		{name: "credentials move out of the URL", opts: Options{URL: "http://alice:s3cret@pgw:9091"},
			wantURL: "http://pgw:9091", wantJob: DefaultJob, wantTimeout: DefaultTimeout, wantUser: "alice", wantPassword: "s3cret"},
		{name: "explicit credentials win over the URL's", opts: Options{URL: "http://alice:s3cret@pgw:9091", Username: "bob", Password: "pw"},
			wantURL: "http://pgw:9091", wantJob: DefaultJob, wantTimeout: DefaultTimeout, wantUser: "bob", wantPassword: "pw"},
		{name: "empty URL", opts: Options{}, wantErr: "pushgateway URL is empty"},
		{name: "no scheme", opts: Options{URL: "pgw:9091"}, wantErr: "scheme must be http or https"},
		{name: "other scheme", opts: Options{URL: "ftp://pgw"}, wantErr: "scheme must be http or https"},
		{name: "no host", opts: Options{URL: "http:///metrics"}, wantErr: "host is empty"},
		{name: "query", opts: Options{URL: "http://pgw:9091?x=1"}, wantErr: "must have no query or fragment"},
		{name: "unparsable", opts: Options{URL: "http://pgw:port"}, wantErr: "pushgateway URL:"},
		{name: "negative timeout", opts: Options{URL: "http://pgw", Timeout: -time.Second}, wantErr: "pushgateway timeout -1s is negative"},
		{name: "password kept out of errors", opts: Options{URL: "ftp://alice:s3cret@pgw"}, wantErr: "ftp://alice:xxxxx@pgw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.url != tt.wantURL || p.job != tt.wantJob || p.timeout != tt.wantTimeout || p.username != tt.wantUser || p.password != tt.wantPassword {
				t.Errorf("Pusher = url %q job %q timeout %v user %q password %q, want %q %q %v %q %q",
					p.url, p.job, p.timeout, p.username, p.password, tt.wantURL, tt.wantJob, tt.wantTimeout, tt.wantUser, tt.wantPassword)
			}
		})
	}
}

// pushRequest is what the test Pushgateway received.
type pushRequest struct {
	method, path, user, password, contentType string
	hasAuth                                   bool
	bodyLen                                   int
}

// recordingGateway answers every request with status and body and records
// the requests.
func recordingGateway(t *testing.T, status int, body string) (*httptest.Server, func() []pushRequest) {
	var mu sync.Mutex
	var reqs []pushRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, password, ok := r.BasicAuth()
		mu.Lock()
		reqs = append(reqs, pushRequest{method: r.Method, path: r.URL.EscapedPath(), user: user, password: password,
			hasAuth: ok, contentType: r.Header.Get("Content-Type"), bodyLen: len(b)})
		mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pushRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]pushRequest(nil), reqs...)
	}
}

func TestPush(t *testing.T) {
	tests := []struct {
		name string
		opts func(url string) Options
		// wantPath is the grouping path with the labels in a fixed order;
		// the push package orders them at random.
		wantPath string
		wantUser string
	}{
		{name: "default job", opts: func(u string) Options { return Options{URL: u} },
			wantPath: "/metrics/job/restore-controller/namespace/demo/restoresession/restore-db"},
		{name: "own job and basic auth from the URL", opts: func(u string) Options {
			return Options{URL: strings.Replace(u, "http://", "http://alice:s3cret@", 1), Job: "restores"}
		}, wantPath: "/metrics/job/restores/namespace/demo/restoresession/restore-db", wantUser: "alice"},
		{name: "path prefix of a proxied gateway", opts: func(u string) Options { return Options{URL: u + "/pushgateway/"} },
			wantPath: "/pushgateway/metrics/job/restore-controller/namespace/demo/restoresession/restore-db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := recordingGateway(t, http.StatusOK, "")
			p, err := New(tt.opts(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, ctx := ktesting.NewTestContext(t)
			if err := p.Push(ctx, finishedRestore(nil)); err != nil {
				t.Fatal(err)
			}
			reqs := requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			// PUT replaces the restore's whole group.
			if r.method != http.MethodPut || canonicalGroupPath(r.path) != tt.wantPath {
				t.Errorf("request %s %s, want PUT %s", r.method, r.path, tt.wantPath)
			}
			if r.bodyLen == 0 || !strings.Contains(r.contentType, "application/vnd.google.protobuf") {
				t.Errorf("body of %d bytes, content type %q: want protobuf metrics", r.bodyLen, r.contentType)
			}
			if tt.wantUser == "" && r.hasAuth {
				t.Errorf("basic auth %q sent, want none", r.user)
			}
			if tt.wantUser != "" && (r.user != tt.wantUser || r.password != "s3cret") {
				t.Errorf("basic auth %q/%q, want %q/s3cret", r.user, r.password, tt.wantUser)
			}
		})
	}
}

// canonicalGroupPath orders the grouping labels after /metrics/job/<job>
// of a Pushgateway push path: namespace, then restoresession, then others
// by name.
func canonicalGroupPath(path string) string {
	prefix, rest, ok := strings.Cut(path, "/metrics/job/")
	if !ok {
		return path
	}
	parts := strings.Split(rest, "/")
	if len(parts)%2 != 1 {
		return path
	}
	pairs := make([][2]string, 0, len(parts)/2)
	for i := 1; i+1 < len(parts); i += 2 {
		pairs = append(pairs, [2]string{parts[i], parts[i+1]})
	}
	rank := func(name string) string {
		switch name {
		case GroupingLabelNamespace:
			return "0"
		case GroupingLabelRestoreSession:
			return "1"
		}
		return "2" + name
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(rank(a[0]), rank(b[0])) })
	out := prefix + "/metrics/job/" + parts[0]
	for _, p := range pairs {
		out += "/" + p[0] + "/" + p[1]
	}
	return out
}

func TestPushErrors(t *testing.T) {
	rejecting, _ := recordingGateway(t, http.StatusBadRequest, "inconsistent metrics")
	// hanging answers only when the client gives up, or the test ends. The
	// server notices a closed connection only once the body has been read.
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	unused, requests := recordingGateway(t, http.StatusOK, "")

	tests := []struct {
		name         string
		url          string
		timeout      time.Duration
		finishedOnly bool
		wantErr      []string
		wantDeadline bool
	}{
		{name: "rejected push names the status and the gateway's answer", url: strings.Replace(rejecting.URL, "http://", "http://alice:s3cret@", 1),
			wantErr: []string{"unexpected status code 400", "inconsistent metrics", "/namespace/demo", "/restoresession/restore-db"}},
		{name: "a gateway that never answers is given up on", url: hanging.URL, timeout: 50 * time.Millisecond,
			wantErr: []string{"no answer within the push timeout 50ms"}, wantDeadline: true},
		{name: "an unfinished restore is not pushed", url: unused.URL, finishedOnly: true,
			wantErr: []string{"status.duration is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Options{URL: tt.url, Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			rs := finishedRestore(nil)
			if tt.finishedOnly {
				rs.Status.Duration = ""
			}
			_, ctx := ktesting.NewTestContext(t)
			err = p.Push(ctx, rs)
			if err == nil {
				t.Fatal("Push succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.wantDeadline {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", got, tt.wantDeadline)
			}
		})
	}
	if reqs := requests(); len(reqs) != 0 {
		t.Errorf("an unfinished restore was pushed: %+v", reqs)
	}
}

// TestPushWithOwnClient: Options.Client carries what the default client
// cannot, here trust in a test CA, to an https Pushgateway.
func TestPushWithOwnClient(t *testing.T) {
	var pushed atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		pushed.Store(r.Method == http.MethodPut)
	}))
	t.Cleanup(srv.Close)
	_, ctx := ktesting.NewTestContext(t)

	withDefault, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := withDefault.Push(ctx, finishedRestore(nil)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("push with the default client: error %v, want a certificate error", err)
	}
	withOwn, err := New(Options{URL: srv.URL, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := withOwn.Push(ctx, finishedRestore(nil)); err != nil {
		t.Fatal(err)
	}
	if !pushed.Load() {
		t.Error("the gateway received no PUT")
	}
}

package hookaction

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// allowLoopback is the policy of tests whose servers listen on 127.0.0.1,
// which the zero AddressPolicy refuses (see address_test.go).
var allowLoopback = AddressPolicy{AllowLocal: true}

// received is one request as the test server saw it.
type received struct {
	method, path, rawQuery, host, body string
	header                             http.Header
}

// hookServer records requests and answers them with route(path).
type hookServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
}

type route struct {
	status   int
	body     string
	location string
}

func newHookServer(t *testing.T, tlsServer bool, routes map[string]route) *hookServer {
	t.Helper()
	hs := &hookServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hs.mu.Lock()
		hs.reqs = append(hs.reqs, received{
			method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, host: r.Host,
			body: string(body), header: r.Header.Clone(),
		})
		hs.mu.Unlock()
		rt, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rt.location != "" {
			w.Header().Set("Location", rt.location)
		}
		w.WriteHeader(rt.status)
		_, _ = io.WriteString(w, rt.body)
	})
	if tlsServer {
		hs.srv = httptest.NewTLSServer(h)
	} else {
		hs.srv = httptest.NewServer(h)
	}
	t.Cleanup(hs.srv.Close)
	return hs
}

func (hs *hookServer) requests() []received {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return slices.Clone(hs.reqs)
}

// hostPort splits the server's listening address.
func (hs *hookServer) hostPort(t *testing.T) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(hs.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return host, n
}

func TestPerformHTTP(t *testing.T) {
	other := newHookServer(t, false, map[string]route{"/elsewhere": {status: 200}})
	long := strings.Repeat("e", 3000) + "TAIL-NOT-QUOTED"

	routes := map[string]route{
		"/ok":         {status: 200, body: "ignored on success"},
		"/nocontent":  {status: 204},
		"/fail":       {status: 500, body: "database is locked\n"},
		"/fail-long":  {status: 503, body: long},
		"/old":        {status: 302, location: "/new"},
		"/new":        {status: 200},
		"/post-old":   {status: 307, location: "/post-new"},
		"/post-new":   {status: 201},
		"/away":       {status: 302, location: other.srv.URL + "/elsewhere"},
		"/loop":       {status: 302, location: "/loop"},
		"/redirected": {status: 302, location: "/fail"},
	}
	// get is an httpGet of path on the test server.
	get := func(path string) func(string, int) *v1alpha1.HookAction {
		return func(host string, port int) *v1alpha1.HookAction {
			return &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: host, Port: intstr.FromInt32(int32(port)), Path: path}}
		}
	}
	type want struct {
		err      []string // substrings; nil means success
		requests []received
	}
	cases := []struct {
		name   string
		action func(host string, port int) *v1alpha1.HookAction
		ep     func(host string, port int) Endpoint
		want   want
	}{
		{
			name: "httpGet sends path, query and headers; Host header sets the host",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{
					Host: host, Port: intstr.FromInt32(int32(port)), Path: "/ok?db=main&force=1",
					HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Token", Value: "abc"}, {Name: "X-Token", Value: "def"}, {Name: "Host", Value: "db.example"}},
				}}
			},
			want: want{requests: []received{{method: "GET", path: "/ok", rawQuery: "db=main&force=1", host: "db.example",
				header: http.Header{"X-Token": {"abc", "def"}, "User-Agent": {userAgent}}}}},
		},
		{
			name: "httpGet 204, path without leading slash, numeric string port, HTTP scheme",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{
					Host: host, Port: intstr.FromString(strconv.Itoa(port)), Path: "nocontent", Scheme: corev1.URISchemeHTTP,
				}}
			},
			want: want{requests: []received{{method: "GET", path: "/nocontent"}}},
		},
		{
			name:   "status 500 names method, URL, status and body",
			action: get("/fail"),
			want:   want{err: []string{"GET http://127.0.0.1:", "/fail: status 500 Internal Server Error: database is locked"}},
		},
		{
			name:   "a long error body is cut to 1 KiB",
			action: get("/fail-long"),
			want:   want{err: []string{"status 503 Service Unavailable: " + strings.Repeat("e", excerptLimit) + "…"}},
		},
		{
			name: "httpPost sends body and headers",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{
					Host: host, Port: intstr.FromInt32(int32(port)), Path: "/ok", Body: `{"flush":true}`,
					HTTPHeaders: []corev1.HTTPHeader{{Name: "Content-Type", Value: "application/json"}},
				}}
			},
			want: want{requests: []received{{method: "POST", path: "/ok", body: `{"flush":true}`,
				header: http.Header{"Content-Type": {"application/json"}}}}},
		},
		{
			name: "httpPost form is url-encoded; a key without values is sent empty",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{
					Host: host, Port: intstr.FromInt32(int32(port)), Path: "/ok",
					Form: []v1alpha1.FormEntry{{Key: "db", Values: []string{"a b", "c&d"}}, {Key: "now"}},
				}}
			},
			want: want{requests: []received{{method: "POST", path: "/ok", body: "db=a+b&db=c%26d&now=",
				header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}}},
		},
		{
			name: "httpPost body wins over form",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{
					Host: host, Port: intstr.FromInt32(int32(port)), Path: "/ok", Body: "raw",
					Form: []v1alpha1.FormEntry{{Key: "ignored", Values: []string{"x"}}},
				}}
			},
			want: want{requests: []received{{method: "POST", path: "/ok", body: "raw"}}},
		},
		{
			name:   "same-host redirect is followed",
			action: get("/old"),
			want:   want{requests: []received{{method: "GET", path: "/old"}, {method: "GET", path: "/new"}}},
		},
		{
			name: "307 repeats the POST with its body",
			action: func(host string, port int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{Host: host, Port: intstr.FromInt32(int32(port)), Path: "/post-old", Body: "payload"}}
			},
			want: want{requests: []received{{method: "POST", path: "/post-old", body: "payload"}, {method: "POST", path: "/post-new", body: "payload"}}},
		},
		{
			name:   "a redirect to another host is not followed and fails",
			action: get("/away"),
			want:   want{err: []string{"/away: status 302 Found (redirect to " + other.srv.URL + "/elsewhere not followed: it leaves http://127.0.0.1:"}},
		},
		{
			name:   "a failure after a redirect names where it landed",
			action: get("/redirected"),
			want:   want{err: []string{"/redirected: status 500 Internal Server Error at http://127.0.0.1:", "/fail, after redirects: database is locked"}},
		},
		{
			name:   "redirect loops stop",
			action: get("/loop"),
			want:   want{err: []string{"GET http://127.0.0.1:", "/loop: stopped after 10 redirects"}},
		},
		{
			name: "the default host and a named port come from the endpoint",
			action: func(string, int) *v1alpha1.HookAction {
				return &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin"), Path: "/ok"}}
			},
			ep: func(host string, port int) Endpoint {
				return Endpoint{DefaultHost: host, Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 1}, {Name: "admin", ContainerPort: int32(port)}}}
			},
			want: want{requests: []received{{method: "GET", path: "/ok"}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHookServer(t, false, routes)
			host, port := hs.hostPort(t)
			ep := Endpoint{}
			if tc.ep != nil {
				ep = tc.ep(host, port)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			err := Perform(ctx, tc.action(host, port), ep, allowLoopback)

			if tc.want.err == nil && err != nil {
				t.Fatalf("Perform: %v", err)
			}
			for _, w := range tc.want.err {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not contain %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "TAIL-NOT-QUOTED") {
				t.Errorf("error quotes more than %d bytes of the body", excerptLimit)
			}
			if tc.want.requests == nil {
				return
			}
			got := hs.requests()
			if len(got) != len(tc.want.requests) {
				t.Fatalf("server got %d requests %+v, want %d", len(got), got, len(tc.want.requests))
			}
			for i, w := range tc.want.requests {
				g := got[i]
				if g.method != w.method || g.path != w.path || g.rawQuery != w.rawQuery || g.body != w.body {
					t.Errorf("request %d = %s %s?%s body %q, want %s %s?%s body %q",
						i, g.method, g.path, g.rawQuery, g.body, w.method, w.path, w.rawQuery, w.body)
				}
				if w.host != "" && g.host != w.host {
					t.Errorf("request %d Host = %q, want %q", i, g.host, w.host)
				}
				for name, values := range w.header {
					if !slices.Equal(g.header.Values(name), values) {
						t.Errorf("request %d header %s = %q, want %q", i, name, g.header.Values(name), values)
					}
				}
			}
		})
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host got %d requests; redirects there must not be followed", n)
	}
}

func TestPerformHTTPDeadline(t *testing.T) {
	released := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // slower than any deadline below
		case <-r.Context().Done():
		case <-released:
		}
	}))
	t.Cleanup(func() {
		close(released)
		srv.Close()
	})
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())

	for _, action := range []*v1alpha1.HookAction{
		{HTTPGet: &corev1.HTTPGetAction{Host: u.Hostname(), Port: intstr.FromInt32(int32(port)), Path: "/slow"}},
		{HTTPPost: &v1alpha1.HTTPPostAction{Host: u.Hostname(), Port: intstr.FromInt32(int32(port)), Path: "/slow", Body: "x"}},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		start := time.Now()
		err := Perform(ctx, action, Endpoint{}, allowLoopback)
		elapsed := time.Since(start)
		cancel()

		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Perform = %v, want context.DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), srv.URL+"/slow") {
			t.Errorf("error %q does not name the URL", err)
		}
		// The handler never answers by itself: only the deadline ends it.
		if elapsed > 10*time.Second {
			t.Errorf("Perform returned after %v, long past its 200ms deadline", elapsed)
		}
	}
}

func TestPerformHTTPS(t *testing.T) {
	hs := newHookServer(t, true, map[string]route{"/ok": {status: 200}})
	host, port := hs.hostPort(t)
	roots := x509.NewCertPool()
	roots.AddCert(hs.srv.Certificate())
	callerTLS := &tls.Config{RootCAs: roots}

	cases := []struct {
		name    string
		host    string
		ep      Endpoint
		wantErr string
	}{
		{name: "explicit host, trusted CA", host: host, ep: Endpoint{TLSConfig: callerTLS}},
		{name: "explicit host, unknown CA fails", host: host, wantErr: "certificate"},
		{name: "default host (a pod IP) is not verified", ep: Endpoint{DefaultHost: host}},
		{name: "default host with a caller's TLS config", ep: Endpoint{DefaultHost: host, TLSConfig: callerTLS}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			action := &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{
				Host: tc.host, Port: intstr.FromInt32(int32(port)), Path: "/ok", Scheme: corev1.URISchemeHTTPS,
			}}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			err := Perform(ctx, action, tc.ep, allowLoopback)

			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Perform: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Perform = %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
	if n := len(hs.requests()); n != 3 {
		t.Errorf("server got %d requests, want 3 (the untrusted one never gets past TLS)", n)
	}
	if callerTLS.InsecureSkipVerify {
		t.Error("Perform changed the caller's TLS config")
	}
}

func TestPerformTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
			accepted <- struct{}{}
		}
	}()
	openPort := ln.Addr().(*net.TCPAddr).Port

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	_ = closed.Close()

	cases := []struct {
		name    string
		action  *corev1.TCPSocketAction
		ep      Endpoint
		wantErr string
	}{
		{name: "open port", action: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(openPort))}},
		{name: "named port against the default host", action: &corev1.TCPSocketAction{Port: intstr.FromString("db")},
			ep: Endpoint{DefaultHost: "127.0.0.1", Ports: []corev1.ContainerPort{{Name: "db", ContainerPort: int32(openPort)}}}},
		{name: "closed port", action: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(closedPort))},
			wantErr: "tcpSocket 127.0.0.1:" + strconv.Itoa(closedPort) + ": dial tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			err := Perform(ctx, &v1alpha1.HookAction{TCPSocket: tc.action}, tc.ep, allowLoopback)

			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "refused") {
					t.Fatalf("Perform = %v, want a refused dial naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Perform: %v", err)
			}
			select {
			case <-accepted:
			case <-ctx.Done():
				t.Fatal("the listener accepted no connection")
			}
		})
	}
}

// TestPerformInvalid covers actions that fail before any connection.
func TestPerformInvalid(t *testing.T) {
	port := intstr.FromInt32(8080)
	cases := []struct {
		name    string
		action  *v1alpha1.HookAction
		ep      Endpoint
		wantErr string
	}{
		{name: "nil action", wantErr: "action is not set"},
		{name: "empty action", action: &v1alpha1.HookAction{}, wantErr: "none of exec, httpGet, httpPost or tcpSocket"},
		{name: "two actions", action: &v1alpha1.HookAction{
			HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: port}, TCPSocket: &corev1.TCPSocketAction{Host: "h", Port: port},
		}, wantErr: "found httpGet, tcpSocket"},
		{name: "exec", action: &v1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"true"}}}, wantErr: "action.exec runs inside a pod"},
		{name: "httpGet without host", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Port: port}},
			wantErr: "action.httpGet.host is required"},
		{name: "httpPost without host", action: &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{Port: port}},
			wantErr: "action.httpPost.host is required"},
		{name: "tcpSocket without host", action: &v1alpha1.HookAction{TCPSocket: &corev1.TCPSocketAction{Port: port}},
			wantErr: "action.tcpSocket.host is required"},
		{name: "host with a port", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "db.example:80", Port: port}},
			wantErr: `action.httpGet.host "db.example:80" must not include a port`},
		{name: "named port for the Operator", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: intstr.FromString("http")}},
			wantErr: `action.httpGet.port "http" is a port name`},
		{name: "unknown named port", action: &v1alpha1.HookAction{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("metrics")}},
			ep:      Endpoint{DefaultHost: "10.0.0.1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}},
			wantErr: `action.tcpSocket.port: no container port is named "metrics"`},
		{name: "port zero", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: intstr.FromInt32(0)}},
			wantErr: "action.httpGet.port 0 is not a port number"},
		{name: "port too large", action: &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{Host: "h", Port: intstr.FromString("70000")}},
			wantErr: "action.httpPost.port 70000 is not a port number"},
		{name: "empty port", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: intstr.FromString("")}},
			wantErr: "action.httpGet.port is required"},
		{name: "bad scheme", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: port, Scheme: "FTP"}},
			wantErr: `action.httpGet.scheme "FTP" is neither HTTP nor HTTPS`},
		{name: "header without name", action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "h", Port: port,
			HTTPHeaders: []corev1.HTTPHeader{{Value: "v"}}}}, wantErr: "action.httpGet.httpHeaders[0].name is empty"},
		{name: "form entry without key", action: &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{Host: "h", Port: port,
			Form: []v1alpha1.FormEntry{{Key: "a"}, {Values: []string{"x"}}}}}, wantErr: "action.httpPost.form[1].key is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Perform(t.Context(), tc.action, tc.ep, AddressPolicy{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Perform = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	cases := []struct {
		name string
		in   string
		tail bool
		want string
	}{
		{name: "short", in: "  oops\n", want: "oops"},
		{name: "empty", in: "", want: "(empty)"},
		{name: "head of a long text", in: strings.Repeat("a", excerptLimit) + "zzz", want: strings.Repeat("a", excerptLimit) + "…"},
		{name: "tail of a long text", in: "zzz" + strings.Repeat("a", excerptLimit), tail: true, want: "…" + strings.Repeat("a", excerptLimit)},
		{name: "invalid UTF-8 is replaced", in: "bad\xffbyte", want: "bad\uFFFDbyte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := excerpt([]byte(tc.in), tc.tail); got != tc.want {
				t.Errorf("excerpt = %q, want %q", got, tc.want)
			}
		})
	}
}

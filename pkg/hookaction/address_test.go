package hookaction

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestLocalAddressKind(t *testing.T) {
	const (
		loopback  = "a loopback address"
		linkLocal = "a link-local address"
		unspec    = "an unspecified address"
		metadata  = "a cloud metadata address"
	)
	cases := []struct {
		addr string
		want string // "" means allowed
	}{
		{"127.0.0.1", loopback},
		{"127.0.0.53", loopback},
		{"127.255.255.254", loopback},
		{"::1", loopback},
		{"::ffff:127.0.0.1", loopback},
		{"169.254.0.1", linkLocal},
		{"169.254.255.254", linkLocal},
		{"::ffff:169.254.1.1", linkLocal},
		{"fe80::1", linkLocal},
		{"fe80::1%eth0", linkLocal},
		{"febf:ffff::1", linkLocal},
		{"0.0.0.0", unspec},
		{"::", unspec},
		{"::ffff:0.0.0.0", unspec},
		{"169.254.169.254", metadata},
		{"::ffff:169.254.169.254", metadata},
		{"fd00:ec2::254", metadata},
		{"100.100.100.200", metadata},
		{"::ffff:100.100.100.200", metadata},

		{"10.0.0.1", ""},
		{"10.96.0.10", ""},
		{"192.168.1.1", ""},
		{"8.8.8.8", ""},
		{"126.255.255.255", ""},
		{"128.0.0.1", ""},
		{"169.253.255.255", ""},
		{"169.255.0.1", ""},
		{"100.100.100.201", ""},
		{"100.64.0.1", ""},
		{"::ffff:10.0.0.1", ""},
		{"::2", ""},
		{"fec0::1", ""},
		{"fd00:ec2::253", ""},
		{"fd12:3456::1", ""},
		{"2001:db8::1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			if got := localAddressKind(ip); got != tc.want {
				t.Errorf("localAddressKind(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestAddressPolicyControl(t *testing.T) {
	const hint = ", which hooks may not reach (restore-controller --hook-allow-local-addresses allows it)"
	cases := []struct {
		name     string
		policy   AddressPolicy
		address  string // as the dialer hands it to Control
		wantErr  string // exact; "" means allowed
		notIPErr bool
	}{
		{name: "loopback refused", address: "127.0.0.1:8080",
			wantErr: "hook target 127.0.0.1:8080 is a loopback address" + hint},
		{name: "IPv6 loopback refused", address: "[::1]:443",
			wantErr: "hook target [::1]:443 is a loopback address" + hint},
		{name: "IPv4-mapped loopback refused", address: "[::ffff:127.0.0.1]:80",
			wantErr: "hook target [::ffff:127.0.0.1]:80 is a loopback address" + hint},
		{name: "metadata refused", address: "169.254.169.254:80",
			wantErr: "hook target 169.254.169.254:80 is a cloud metadata address" + hint},
		{name: "zoned link-local refused", address: "[fe80::1%eth0]:80",
			wantErr: "hook target [fe80::1%eth0]:80 is a link-local address" + hint},
		{name: "unspecified refused", address: "0.0.0.0:22",
			wantErr: "hook target 0.0.0.0:22 is an unspecified address" + hint},
		{name: "pod IP allowed", address: "10.244.1.7:8080"},
		{name: "loopback allowed by AllowLocal", policy: AddressPolicy{AllowLocal: true}, address: "127.0.0.1:8080"},
		{name: "metadata allowed by AllowLocal", policy: AddressPolicy{AllowLocal: true}, address: "169.254.169.254:80"},
		{name: "not an address refused", address: "db.example:80", notIPErr: true,
			wantErr: "hook target db.example:80 (tcp): not an IP address and port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.control(t.Context(), "tcp", tc.address, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("control(%s) = %v, want nil", tc.address, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("control(%s) = nil, want %q", tc.address, tc.wantErr)
			}
			if tc.notIPErr {
				if !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Errorf("control(%s) = %q, want it to start with %q", tc.address, err, tc.wantErr)
				}
				return
			}
			if err.Error() != tc.wantErr {
				t.Errorf("control(%s) =\n  %q\nwant\n  %q", tc.address, err, tc.wantErr)
			}
			var addrErr *AddressError
			if !errors.As(err, &addrErr) {
				t.Errorf("error %T is not an *AddressError", err)
			}
		})
	}
}

// TestAddressPolicyDialer: the Control hook sees the address a name
// resolved to, and refuses before any connection is made.
func TestAddressPolicyDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	d := &net.Dialer{ControlContext: AddressPolicy{}.control}
	_, err = d.DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	var addrErr *AddressError
	if !errors.As(err, &addrErr) || addrErr.Kind != "a loopback address" {
		t.Fatalf("dialling localhost:%s = %v, want an *AddressError for a loopback address", port, err)
	}

	d = &net.Dialer{ControlContext: AddressPolicy{AllowLocal: true}.control}
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("dialling localhost:%s with AllowLocal: %v", port, err)
	}
	_ = conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for accepted.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("listener accepted %d connections, want 1 (only the allowed dial)", n)
	}
}

// TestPerformRefusesLocalAddresses: with the zero policy no action reaches
// a server on loopback, whether the host is an address, a name or the
// Pod executor's default host, and the error says why and what allows it.
func TestPerformRefusesLocalAddresses(t *testing.T) {
	hs := newHookServer(t, false, map[string]route{"/ok": {status: 200}})
	host, port := hs.hostPort(t)
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	p := intstr.FromInt32(int32(port))
	refusal := "hook target " + addr + " is a loopback address, which hooks may not reach (restore-controller --hook-allow-local-addresses allows it)"

	cases := []struct {
		name    string
		action  *v1alpha1.HookAction
		ep      Endpoint
		wantErr string // exact
	}{
		{name: "httpGet to an address",
			action:  &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: host, Port: p, Path: "/ok"}},
			wantErr: "GET http://" + addr + "/ok: " + refusal},
		{name: "httpPost to a name that resolves to loopback",
			action:  &v1alpha1.HookAction{HTTPPost: &v1alpha1.HTTPPostAction{Host: "localhost", Port: p, Path: "/ok", Body: "x"}},
			wantErr: "POST http://localhost:" + strconv.Itoa(port) + "/ok: " + refusal},
		{name: "httpGet over HTTPS to an IPv4-mapped address",
			action: &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "::ffff:" + host, Port: p, Path: "/ok", Scheme: corev1.URISchemeHTTPS}},
			// Go dials the IPv4 form of an IPv4-mapped address.
			wantErr: "GET https://[::ffff:" + host + "]:" + strconv.Itoa(port) + "/ok: " + refusal},
		{name: "tcpSocket",
			action:  &v1alpha1.HookAction{TCPSocket: &corev1.TCPSocketAction{Host: host, Port: p}},
			wantErr: "tcpSocket " + addr + ": " + refusal},
		{name: "Pod executor's default host",
			action:  &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin"), Path: "/ok"}},
			ep:      Endpoint{DefaultHost: host, Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: int32(port)}}},
			wantErr: "GET http://" + addr + "/ok: " + refusal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			err := Perform(ctx, tc.action, tc.ep, AddressPolicy{})

			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Perform =\n  %v\nwant\n  %s", err, tc.wantErr)
			}
			var addrErr *AddressError
			if !errors.As(err, &addrErr) {
				t.Errorf("error %T does not wrap an *AddressError", err)
			}
		})
	}
	if n := len(hs.requests()); n != 0 {
		t.Errorf("the loopback server got %d requests, want none", n)
	}
	// The same actions pass with AllowLocal: the refusal above is the
	// policy's, not a broken server's.
	for _, tc := range cases[:2] {
		if err := Perform(t.Context(), tc.action, tc.ep, AddressPolicy{AllowLocal: true}); err != nil {
			t.Errorf("%s with AllowLocal: %v", tc.name, err)
		}
	}
	if n := len(hs.requests()); n != 2 {
		t.Errorf("the loopback server got %d requests with AllowLocal, want 2", n)
	}
}

// TestPerformRedirectToRefusedAddress: the policy is applied to the
// connection each followed redirect makes, not only to the first. The
// server stands in for a name whose DNS answer changes after the first
// request (DNS rebinding): once it has answered /old, the test policy
// refuses its address, so the redirect to /new, on the same host and port
// and therefore followed, must fail at dial time.
func TestPerformRedirectToRefusedAddress(t *testing.T) {
	var rebound atomic.Bool
	policy := AddressPolicy{AllowLocal: true, deny: func(netip.AddrPort) string {
		if rebound.Load() {
			return "an address the test refuses after the first request"
		}
		return ""
	}}
	var paths []string // written by the handler, read after Perform returned
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path == "/old" {
			rebound.Store(true) // before the client sees the redirect
			http.Redirect(w, r, "/new", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	hs := &hookServer{srv: srv}
	host, port := hs.hostPort(t)
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	action := &v1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: host, Port: intstr.FromInt32(int32(port)), Path: "/old"}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	err := Perform(ctx, action, Endpoint{}, policy)

	want := "GET http://" + addr + "/old (redirected to http://" + addr + "/new): hook target " + addr +
		" is an address the test refuses after the first request, which hooks may not reach"
	if err == nil || err.Error() != want {
		t.Fatalf("Perform =\n  %v\nwant\n  %s", err, want)
	}
	srv.Close() // waits for the handler
	if len(paths) != 1 || paths[0] != "/old" {
		t.Errorf("server got %v, want /old only", paths)
	}
}

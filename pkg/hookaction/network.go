package hookaction

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

const (
	// excerptLimit bounds the response body or stderr quoted in an error.
	excerptLimit = 1024
	// maxRedirects bounds the same-host redirects an HTTP action follows.
	maxRedirects = 10
	userAgent    = "restore-controller-hook"
)

// Endpoint is what a network action falls back on when it leaves its host
// empty or names its port. The zero value suits the Operator executor:
// no default host and no named ports.
type Endpoint struct {
	// DefaultHost is used when the action's host is empty: the pod's IP
	// for the Pod executor. HTTPS to it does not verify the certificate
	// (see the package documentation).
	DefaultHost string
	// Ports resolve a port given by name; the first port of that name wins.
	Ports []corev1.ContainerPort
	// TLSConfig is cloned for HTTPS to an explicit host; nil means the
	// system's root certificates.
	TLSConfig *tls.Config
}

// PodEndpoint is the Endpoint of a network action that the Pod executor runs
// against pod: its IP, and the ports of containerName or, when that is
// empty, of all its containers in order.
func PodEndpoint(pod *corev1.Pod, containerName string) Endpoint {
	ep := Endpoint{DefaultHost: pod.Status.PodIP}
	for _, c := range pod.Spec.Containers {
		if containerName == "" || c.Name == containerName {
			ep.Ports = append(ep.Ports, c.Ports...)
		}
	}
	return ep
}

// Perform runs one attempt of a network action (httpGet, httpPost or
// tcpSocket) from this process. It returns nil on success. Every connection
// it makes must pass policy (an *AddressError otherwise). An exec action
// is an error here: it runs inside a pod, through PodRunner.
func Perform(ctx context.Context, action *v1alpha1.HookAction, ep Endpoint, policy AddressPolicy) error {
	if err := checkOneAction(action); err != nil {
		return err
	}
	switch {
	case action.HTTPGet != nil:
		g := action.HTTPGet
		return doHTTP(ctx, ep, policy, httpRequest{
			field: "action.httpGet", method: http.MethodGet,
			scheme: g.Scheme, host: g.Host, port: g.Port, path: g.Path, headers: g.HTTPHeaders,
		})
	case action.HTTPPost != nil:
		p := action.HTTPPost
		req := httpRequest{
			field: "action.httpPost", method: http.MethodPost,
			scheme: p.Scheme, host: p.Host, port: p.Port, path: p.Path, headers: p.HTTPHeaders,
			body: p.Body,
		}
		if p.Body == "" && len(p.Form) > 0 {
			form, err := encodeForm(p.Form)
			if err != nil {
				return err
			}
			req.body, req.contentType = form, "application/x-www-form-urlencoded"
		}
		return doHTTP(ctx, ep, policy, req)
	case action.TCPSocket != nil:
		return doTCP(ctx, ep, policy, action.TCPSocket)
	default:
		return errors.New("action.exec runs inside a pod: use the Pod executor (PodRunner), not Perform")
	}
}

// checkOneAction enforces what the CRD's CEL rule promises (exactly one
// action), so that a HookAction built in code fails clearly too.
func checkOneAction(action *v1alpha1.HookAction) error {
	if action == nil {
		return errors.New("action is not set")
	}
	var set []string
	if action.Exec != nil {
		set = append(set, "exec")
	}
	if action.HTTPGet != nil {
		set = append(set, "httpGet")
	}
	if action.HTTPPost != nil {
		set = append(set, "httpPost")
	}
	if action.TCPSocket != nil {
		set = append(set, "tcpSocket")
	}
	switch len(set) {
	case 1:
		return nil
	case 0:
		return errors.New("action: none of exec, httpGet, httpPost or tcpSocket is set")
	default:
		return fmt.Errorf("action: exactly one of exec, httpGet, httpPost or tcpSocket must be set, found %s", strings.Join(set, ", "))
	}
}

func encodeForm(entries []v1alpha1.FormEntry) (string, error) {
	values := url.Values{}
	for i, e := range entries {
		if e.Key == "" {
			return "", fmt.Errorf("action.httpPost.form[%d].key is empty", i)
		}
		if len(e.Values) == 0 {
			// url.Values.Encode drops a key without values; the user wrote
			// the key, so send it.
			values[e.Key] = append(values[e.Key], "")
			continue
		}
		values[e.Key] = append(values[e.Key], e.Values...)
	}
	return values.Encode(), nil
}

// hostPort resolves the address a network action connects to. field is the
// action's field path, e.g. "action.httpGet".
func hostPort(field, host string, port intstr.IntOrString, ep Endpoint) (addr string, defaulted bool, err error) {
	if host == "" {
		if ep.DefaultHost == "" {
			return "", false, fmt.Errorf("%s.host is required: the Operator executor has no pod whose IP it could default to", field)
		}
		host, defaulted = ep.DefaultHost, true
	} else if _, _, splitErr := net.SplitHostPort(host); splitErr == nil {
		return "", false, fmt.Errorf("%s.host %q must not include a port: set %s.port", field, host, field)
	}
	n, err := resolvePort(field, port, ep.Ports)
	if err != nil {
		return "", false, err
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(n)), defaulted, nil
}

func resolvePort(field string, port intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	n := port.IntValue() // parses a numeric string; 0 for a name
	if port.Type == intstr.String && n == 0 && port.StrVal != "0" {
		name := port.StrVal
		if name == "" {
			return 0, fmt.Errorf("%s.port is required", field)
		}
		if len(ports) == 0 {
			return 0, fmt.Errorf("%s.port %q is a port name, but there are no container ports to resolve it against (the Operator executor has no pod): use a number", field, name)
		}
		for _, p := range ports {
			if p.Name == name {
				return int(p.ContainerPort), nil
			}
		}
		return 0, fmt.Errorf("%s.port: no container port is named %q", field, name)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s.port %s is not a port number (1-65535)", field, port.String())
	}
	return n, nil
}

type httpRequest struct {
	field       string // "action.httpGet" or "action.httpPost"
	method      string
	scheme      corev1.URIScheme
	host        string
	port        intstr.IntOrString
	path        string
	headers     []corev1.HTTPHeader
	body        string
	contentType string // set when the body's encoding is ours (form)
}

func doHTTP(ctx context.Context, ep Endpoint, policy AddressPolicy, r httpRequest) error {
	logger := klog.FromContext(ctx)

	var scheme string
	switch {
	case r.scheme == "" || strings.EqualFold(string(r.scheme), string(corev1.URISchemeHTTP)):
		scheme = "http"
	case strings.EqualFold(string(r.scheme), string(corev1.URISchemeHTTPS)):
		scheme = "https"
	default:
		return fmt.Errorf("%s.scheme %q is neither HTTP nor HTTPS", r.field, r.scheme)
	}
	addr, defaultedHost, err := hostPort(r.field, r.host, r.port, ep)
	if err != nil {
		return err
	}
	path := r.path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	// The authority comes before the path, so whatever the path holds
	// ("//x", "@", "?q=1") stays path and query.
	target, err := url.Parse(scheme + "://" + addr + path)
	if err != nil {
		return fmt.Errorf("%s.path %q: %w", r.field, r.path, err)
	}

	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body) // lets 307/308 redirects replay it
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target.String(), body)
	if err != nil {
		return fmt.Errorf("%s: %w", r.field, err)
	}
	for i, h := range r.headers {
		if h.Name == "" {
			return fmt.Errorf("%s.httpHeaders[%d].name is empty", r.field, i)
		}
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if r.contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}

	client := newClient(ep.TLSConfig, defaultedHost, policy)
	defer client.CloseIdleConnections()

	resp, err := client.Do(req)
	if err != nil {
		where := target.String()
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // it repeats method and URL, which we put first
		}
		var addrErr *AddressError
		if errors.As(err, &addrErr) {
			err = addrErr // "dial tcp <address>:" would name the address twice
			if urlErr != nil && urlErr.URL != where {
				where += " (redirected to " + urlErr.URL + ")"
			}
		}
		return fmt.Errorf("%s %s: %w", r.method, where, err)
	}
	defer func() { _ = resp.Body.Close() }()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		logger.V(4).Info("Hook HTTP action succeeded", "method", r.method, "url", target.String(), "status", resp.StatusCode)
		return nil
	}
	msg := fmt.Sprintf("%s %s: status %s", r.method, target, resp.Status)
	if resp.Request != nil && resp.Request.URL.String() != target.String() {
		msg += fmt.Sprintf(" at %s, after redirects", resp.Request.URL)
	}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// CheckRedirect follows every redirect that stays on the first
		// request's scheme and host, so this one leaves them.
		msg += fmt.Sprintf(" (redirect to %s not followed: it leaves %s://%s)", loc, target.Scheme, target.Host)
	}
	excerpt, readErr := readExcerpt(resp.Body)
	if readErr != nil {
		excerpt = fmt.Sprintf("(reading the body: %v)", readErr)
	}
	return fmt.Errorf("%s: %s", msg, excerpt)
}

// newClient is an HTTP client for one attempt: no proxy, no kept-alive
// connections, every connection checked against policy, and redirects
// followed only on the first request's scheme and host (see doc.go).
func newClient(base *tls.Config, skipVerify bool, policy AddressPolicy) *http.Client {
	tlsConfig := &tls.Config{}
	if base != nil {
		tlsConfig = base.Clone()
	}
	if skipVerify {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // a pod IP chosen at run time; see doc.go
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       (&net.Dialer{ControlContext: policy.control}).DialContext,
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if next.URL.Scheme != via[0].URL.Scheme || next.URL.Host != via[0].URL.Host {
				// Hand the 3xx back to doHTTP, which fails on it.
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// readExcerpt reads at most excerptLimit bytes of a failed response's body.
func readExcerpt(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, excerptLimit+1))
	if err != nil {
		return "", err
	}
	return excerpt(b, false), nil
}

// excerpt quotes at most excerptLimit bytes of b as valid UTF-8: its
// beginning, or its end when tail is set. Cut text is marked with "…".
func excerpt(b []byte, tail bool) string {
	cut := len(b) > excerptLimit
	if cut && tail {
		b = b[len(b)-excerptLimit:]
	} else if cut {
		b = b[:excerptLimit]
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	switch {
	case s == "":
		return "(empty)"
	case cut && tail:
		return "…" + s
	case cut:
		return s + "…"
	}
	return s
}

func doTCP(ctx context.Context, ep Endpoint, policy AddressPolicy, a *corev1.TCPSocketAction) error {
	addr, _, err := hostPort("action.tcpSocket", a.Host, a.Port, ep)
	if err != nil {
		return err
	}
	conn, err := (&net.Dialer{ControlContext: policy.control}).DialContext(ctx, "tcp", addr)
	if err != nil {
		var addrErr *AddressError
		if errors.As(err, &addrErr) {
			err = addrErr // "dial tcp <address>:" would name the address twice
		}
		return fmt.Errorf("tcpSocket %s: %w", addr, err)
	}
	_ = conn.Close()
	klog.FromContext(ctx).V(4).Info("Hook TCP action succeeded", "address", addr)
	return nil
}

package hookaction

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// execAPI plays the API server's pods/exec endpoint over TLS with both
// streaming transports client-go speaks: WebSocket (v5.channel.k8s.io) and
// SPDY (v5/v4.channel.k8s.io). It records every request it gets and answers
// each pod's exec with a scripted reply, the exit code travelling as the
// metav1.Status on the error stream as the kubelet sends it.
type execAPI struct {
	srv *httptest.Server
	// refuseWebSocket answers upgrades to WebSocket with 400, as an API
	// server without WebSocket exec does, so that clients fall back to SPDY.
	refuseWebSocket bool
	replies         map[string]execReply // by pod name
	done            chan struct{}        // closed at cleanup: hanging handlers return

	mu    sync.Mutex
	calls []*execCall
}

type execReply struct {
	stdout, stderr string
	exitCode       int
	// hang never answers: the handler waits for the client to go away.
	hang bool
}

type execCall struct {
	method, path string
	query        url.Values
	auth         string
	webSocket    bool
	// streams are the SPDY stream types the client opened.
	streams []string
}

const testToken = "s3cr3t-token"

var execPath = regexp.MustCompile(`^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec$`)

func newExecAPI(t *testing.T, refuseWebSocket bool, replies map[string]execReply) *execAPI {
	t.Helper()
	a := &execAPI{refuseWebSocket: refuseWebSocket, replies: replies, done: make(chan struct{})}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(func() {
		close(a.done)
		a.srv.Close()
	})
	return a
}

// config is how a client in the cluster would reach this API server.
func (a *execAPI) config() *rest.Config {
	return &rest.Config{
		Host:        a.srv.URL,
		BearerToken: testToken,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw}),
		},
	}
}

func (a *execAPI) recorded() []execCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]execCall, len(a.calls))
	for i, c := range a.calls {
		out[i] = *c
		out[i].streams = slices.Clone(c.streams)
	}
	return out
}

func (a *execAPI) serve(w http.ResponseWriter, req *http.Request) {
	call := &execCall{
		method:    req.Method,
		path:      req.URL.Path,
		query:     req.URL.Query(),
		auth:      req.Header.Get("Authorization"),
		webSocket: wsstream.IsWebSocketRequest(req),
	}
	a.mu.Lock()
	a.calls = append(a.calls, call)
	a.mu.Unlock()

	m := execPath.FindStringSubmatch(req.URL.Path)
	if m == nil {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	reply, ok := a.replies[m[2]]
	if !ok {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("pods %q not found", m[2]))
		return
	}
	switch {
	case call.webSocket && a.refuseWebSocket:
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "upgrade to websocket is not supported here")
	case call.webSocket:
		a.serveWebSocket(w, req, reply)
	case req.Method != http.MethodPost:
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "exec over SPDY needs POST")
	default:
		a.serveSPDY(w, req, reply, call)
	}
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}

// exitStatus is what the error stream carries when the command ends.
func exitStatus(code int) []byte {
	s := metav1.Status{Status: metav1.StatusSuccess}
	if code != 0 {
		s = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
				{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(code)},
			}},
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func (a *execAPI) serveWebSocket(w http.ResponseWriter, req *http.Request, reply execReply) {
	// Channel order is the protocol's: stdin, stdout, stderr, error, resize.
	// stdin is readable only so that its EOF tells when the client is gone.
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommand.StreamProtocolV5Name: {Binary: true, Channels: []wsstream.ChannelType{
			wsstream.ReadChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.IgnoreChannel,
		}},
	})
	_, channels, err := conn.Open(w, req)
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	if reply.hang {
		gone := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, channels[0])
			close(gone)
		}()
		select {
		case <-gone:
		case <-a.done:
		}
		return
	}
	_, _ = channels[1].Write([]byte(reply.stdout))
	_, _ = channels[2].Write([]byte(reply.stderr))
	_, _ = channels[3].Write(exitStatus(reply.exitCode))
	// Closing the connection ends every stream for the client.
}

func (a *execAPI) serveSPDY(w http.ResponseWriter, req *http.Request, reply execReply, call *execCall) {
	if _, err := httpstream.Handshake(req, w, []string{remotecommand.StreamProtocolV5Name, remotecommand.StreamProtocolV4Name}); err != nil {
		return // Handshake has written the error response
	}
	type opened struct {
		stream    httpstream.Stream
		replySent <-chan struct{}
	}
	streamCh := make(chan opened, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, req, func(s httpstream.Stream, replySent <-chan struct{}) error {
		streamCh <- opened{s, replySent}
		return nil
	})
	if conn == nil {
		return
	}
	defer func() { _ = conn.Close() }()

	// Without stdin or TTY the client opens exactly error, stdout and stderr.
	streams := map[string]opened{}
	for len(streams) < 3 {
		select {
		case o := <-streamCh:
			typ := o.stream.Headers().Get(corev1.StreamType)
			a.mu.Lock()
			call.streams = append(call.streams, typ)
			a.mu.Unlock()
			streams[typ] = o
		case <-conn.CloseChan():
			return
		case <-a.done:
			return
		}
	}
	for _, o := range streams {
		select {
		case <-o.replySent:
		case <-a.done:
			return
		}
	}
	if !reply.hang {
		stdout, stderr, errStream := streams[corev1.StreamTypeStdout], streams[corev1.StreamTypeStderr], streams[corev1.StreamTypeError]
		if stdout.stream == nil || stderr.stream == nil || errStream.stream == nil {
			return // the test sees the stream types it got
		}
		_, _ = stdout.stream.Write([]byte(reply.stdout))
		_ = stdout.stream.Close()
		_, _ = stderr.stream.Write([]byte(reply.stderr))
		_ = stderr.stream.Close()
		_, _ = errStream.stream.Write(exitStatus(reply.exitCode))
		_ = errStream.stream.Close()
	}
	// The client closes the connection once it has read everything (or
	// gave up); closing first could cut frames still in flight.
	select {
	case <-conn.CloseChan():
	case <-a.done:
	}
}

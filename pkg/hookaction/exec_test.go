package hookaction

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// transports are the two ways Exec reaches the exec endpoint: WebSocket
// first, SPDY when the API server refuses the WebSocket upgrade.
var transports = []struct {
	name            string
	refuseWebSocket bool
	// methods are the requests one Exec makes.
	methods []string
}{
	{name: "websocket", methods: []string{"GET"}},
	{name: "spdy fallback", refuseWebSocket: true, methods: []string{"GET", "POST"}},
}

func TestExec(t *testing.T) {
	long := strings.Repeat("x", 100<<10) + "LAST-LINE"
	cases := []struct {
		name      string
		container string
		command   []string
		reply     execReply

		wantContainer string
		wantStdout    string
		wantStderr    string
		wantTrunc     bool
		wantExit      int // 0: success
	}{
		{
			name:    "exit 0 captures stdout and stderr, default container",
			command: []string{"sh", "-c", "echo flushed; echo note >&2"},
			reply:   execReply{stdout: "flushed\n", stderr: "note\n"},

			wantContainer: "db", wantStdout: "flushed\n", wantStderr: "note\n",
		},
		{
			name:      "named container",
			container: "sidecar",
			command:   []string{"/bin/freeze", "--all"},
			reply:     execReply{stdout: "frozen"},

			wantContainer: "sidecar", wantStdout: "frozen",
		},
		{
			name:    "non-zero exit is an ExitError with code and stderr",
			command: []string{"pg_ctl", "checkpoint"},
			reply:   execReply{stdout: "partial", stderr: "FATAL: disk full\n", exitCode: 3},

			wantContainer: "db", wantStdout: "partial", wantStderr: "FATAL: disk full\n", wantExit: 3,
		},
		{
			name:    "output beyond OutputLimit keeps the end",
			command: []string{"dump"},
			reply:   execReply{stdout: long},

			wantContainer: "db", wantStdout: long[len(long)-OutputLimit:], wantTrunc: true,
		},
	}
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				api := newExecAPI(t, tr.refuseWebSocket, map[string]execReply{"db-0": tc.reply})
				runner, err := NewPodRunner(api.config())
				if err != nil {
					t.Fatal(err)
				}
				pod := readyPod("db-0", "10.0.0.5", "db", "sidecar")
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()

				out, err := runner.Exec(ctx, &pod, tc.container, tc.command)

				if tc.wantExit == 0 && err != nil {
					t.Fatalf("Exec: %v", err)
				}
				if tc.wantExit != 0 {
					var exitErr *ExitError
					if !errors.As(err, &exitErr) {
						t.Fatalf("Exec error = %v, want an *ExitError", err)
					}
					if exitErr.Code != tc.wantExit || exitErr.Container != tc.wantContainer || exitErr.Program != tc.command[0] {
						t.Errorf("ExitError = %+v, want code %d, container %q, program %q", exitErr, tc.wantExit, tc.wantContainer, tc.command[0])
					}
					for _, want := range []string{"exited with code 3", strings.TrimSpace(tc.reply.stderr)} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not contain %q", err, want)
						}
					}
				}
				if out.Stdout != tc.wantStdout || out.Stderr != tc.wantStderr || out.Truncated != tc.wantTrunc {
					t.Errorf("output = stdout %d bytes %q…, stderr %q, truncated %v; want stdout %d bytes, stderr %q, truncated %v",
						len(out.Stdout), head(out.Stdout), out.Stderr, out.Truncated, len(tc.wantStdout), tc.wantStderr, tc.wantTrunc)
				}

				calls := api.recorded()
				if got := methods(calls); !slices.Equal(got, tr.methods) {
					t.Fatalf("requests = %v, want %v", got, tr.methods)
				}
				for _, c := range calls {
					assertExecRequest(t, c, "ns1", "db-0", tc.wantContainer, tc.command)
				}
				if last := calls[len(calls)-1]; !last.webSocket {
					want := []string{corev1.StreamTypeError, corev1.StreamTypeStdout, corev1.StreamTypeStderr}
					if got := slices.Sorted(slices.Values(last.streams)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
						t.Errorf("SPDY streams opened = %v, want %v (no stdin, no resize)", last.streams, want)
					}
				}
			})
		}
	}
}

func assertExecRequest(t *testing.T, c execCall, namespace, pod, container string, command []string) {
	t.Helper()
	if want := "/api/v1/namespaces/" + namespace + "/pods/" + pod + "/exec"; c.path != want {
		t.Errorf("path = %q, want %q", c.path, want)
	}
	if got := c.query["command"]; !slices.Equal(got, command) {
		t.Errorf("query command = %q, want %q (one parameter per argument)", got, command)
	}
	for key, want := range map[string]string{"container": container, "stdout": "true", "stderr": "true"} {
		if got := c.query.Get(key); got != want {
			t.Errorf("query %s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"stdin", "tty"} {
		if got := c.query.Get(key); got != "" && got != "false" {
			t.Errorf("query %s = %q, want absent or false", key, got)
		}
	}
	if c.auth != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the config's bearer token", c.auth)
	}
}

func methods(calls []execCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.method
	}
	return out
}

func head(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

func TestExecDeadline(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			api := newExecAPI(t, tr.refuseWebSocket, map[string]execReply{"db-0": {hang: true}})
			runner, err := NewPodRunner(api.config())
			if err != nil {
				t.Fatal(err)
			}
			pod := readyPod("db-0", "10.0.0.5", "db")
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()

			start := time.Now()
			_, err = runner.Exec(ctx, &pod, "", []string{"sleep", "infinity"})
			elapsed := time.Since(start)

			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Exec error = %v, want context.DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), `"sleep"`) {
				t.Errorf("error %q does not name the program", err)
			}
			// The server never answers: only the deadline can end the call.
			if elapsed > 10*time.Second {
				t.Errorf("Exec returned after %v, long past its 300ms deadline", elapsed)
			}
		})
	}
}

func TestExecFailsBeforeStreaming(t *testing.T) {
	cases := []struct {
		name      string
		pod       string
		container string
		command   []string
		wantErr   []string
		wantCalls int
	}{
		{name: "pod unknown to the API server", pod: "ghost", command: []string{"true"},
			wantErr: []string{`pods "ghost" not found`, `exec "true" in container "db"`}, wantCalls: 2},
		{name: "container not in the pod", pod: "db-0", container: "nope", command: []string{"true"},
			wantErr: []string{"action.containerName", `"nope"`, "db, sidecar"}},
		{name: "empty command", pod: "db-0", wantErr: []string{"action.exec.command is empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newExecAPI(t, false, map[string]execReply{"db-0": {}})
			runner, err := NewPodRunner(api.config())
			if err != nil {
				t.Fatal(err)
			}
			pod := readyPod(tc.pod, "10.0.0.5", "db", "sidecar")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			_, err = runner.Exec(ctx, &pod, tc.container, tc.command)

			if err == nil {
				t.Fatal("Exec succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if got := len(api.recorded()); got != tc.wantCalls {
				t.Errorf("API server got %d requests, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	big := strings.Repeat("b", OutputLimit)
	cases := []struct {
		name        string
		writes      []string
		wantTail    string
		wantLen     int
		wantDropped bool
	}{
		{name: "small writes are kept whole", writes: []string{"a", "bc"}, wantTail: "abc", wantLen: 3},
		{name: "exactly the limit in one write", writes: []string{big}, wantTail: "bbb", wantLen: OutputLimit},
		{name: "a write past the limit drops the oldest", writes: []string{big, "END"}, wantTail: "bEND", wantLen: OutputLimit, wantDropped: true},
		{name: "one write larger than the limit", writes: []string{"head" + big + "END"}, wantTail: "END", wantLen: OutputLimit, wantDropped: true},
		{name: "a limit-sized write after data replaces it", writes: []string{"old", big}, wantTail: "bbb", wantLen: OutputLimit, wantDropped: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tb tailBuffer
			for _, w := range tc.writes {
				if n, err := tb.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(w))
				}
			}
			got, dropped := tb.snapshot()
			if len(got) != tc.wantLen || !strings.HasSuffix(string(got), tc.wantTail) || dropped != tc.wantDropped {
				t.Errorf("kept %d bytes ending %q, dropped %v; want %d ending %q, dropped %v",
					len(got), got[max(0, len(got)-5):], dropped, tc.wantLen, tc.wantTail, tc.wantDropped)
			}
			if strings.Contains(string(got), "head") || strings.Contains(string(got), "old") {
				t.Errorf("kept bytes still hold dropped data")
			}
		})
	}
}

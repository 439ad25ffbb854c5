package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/invocation"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var fullEnv = map[string]string{
	invocation.EnvNamespace:        "env-ns",
	invocation.EnvRestoreSession:   "env-rs",
	invocation.EnvComponent:        "pod-1",
	invocation.EnvSnapshot:         "env-snap",
	invocation.EnvTaskName:         "logical-backup-restore",
	invocation.EnvScratchDir:       "/env-scratch",
	invocation.EnvTargetMountPaths: "/var/lib/mysql: /data:",
	invocation.EnvNiceAdjustment:   "5",
	invocation.EnvIONiceClass:      "3",
	invocation.EnvIONiceClassData:  "",
	"KUBECONFIG":                   "/env/kubeconfig",
}

func TestRestoreFlagsDefaultFromEnv(t *testing.T) {
	fs := newFlagSet("restore")
	o, kubeconfig, finish := restoreFlags(fs, envFunc(fullEnv))
	must(t, fs.Parse(nil))
	must(t, finish())
	got := map[string]any{
		"namespace": o.Namespace, "session": o.RestoreSession, "component": o.Component, "snapshot": o.Snapshot,
		"task": o.TaskName, "scratch": o.ScratchDir, "mounts": o.Restore.TargetMountPaths, "kubeconfig": *kubeconfig,
	}
	want := map[string]any{
		"namespace": "env-ns", "session": "env-rs", "component": "pod-1", "snapshot": "env-snap",
		"task": "logical-backup-restore", "scratch": "/env-scratch", "mounts": []string{"/var/lib/mysql", "/data"}, "kubeconfig": "/env/kubeconfig",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults from env:\n got %v\nwant %v", got, want)
	}
	if o.Priority.Nice == nil || *o.Priority.Nice != 5 || o.Priority.IONiceClass == nil || *o.Priority.IONiceClass != 3 || o.Priority.IONiceClassData != nil {
		t.Errorf("priority from env: %+v", o.Priority)
	}
	// Task parameters have no variable; their defaults are the flags'.
	if !o.Restore.Resume || o.Restore.DeleteExtra || o.Restore.Sparse || o.Restore.DryRun || o.Restore.Verify || o.Restore.BandwidthLimit != 0 || o.Restore.Parallel != 0 || o.Restore.TargetRoot != "/" || o.Restore.ProgressInterval != 5*time.Second {
		t.Errorf("flag defaults: %+v", o)
	}

	// Without the variables: the scratch dir is the controller's mount.
	fs = newFlagSet("restore")
	o, _, finish = restoreFlags(fs, envFunc(nil))
	must(t, fs.Parse(nil))
	must(t, finish())
	if o.ScratchDir != invocation.ScratchDir || o.Namespace != "" || o.Restore.TargetMountPaths != nil {
		t.Errorf("defaults without env: %+v", o)
	}
}

func TestRestoreFlagsOverrideEnv(t *testing.T) {
	fs := newFlagSet("restore")
	o, kubeconfig, finish := restoreFlags(fs, envFunc(fullEnv))
	must(t, fs.Parse([]string{
		"--namespace=flag-ns", "--restoresession=flag-rs", "--component=dump", "--snapshot=flag-snap",
		"--task-name=t2", "--scratch-dir=/flag-scratch", "--target-mount-paths=/x", "--kubeconfig=/flag/kc",
		"--include=a/b, c", "--exclude=*.tmp", "--parallel=3", "--resume=false", "--delete-extra", "--sparse",
		"--progress-interval=250ms", "--target-root=/mnt/root", "--dry-run", "--verify", "--bandwidth-limit=50Mi",
	}))
	must(t, finish())
	got := map[string]any{
		"namespace": o.Namespace, "session": o.RestoreSession, "component": o.Component, "snapshot": o.Snapshot,
		"task": o.TaskName, "scratch": o.ScratchDir, "mounts": o.Restore.TargetMountPaths, "kubeconfig": *kubeconfig,
		"include": o.Restore.Include, "exclude": o.Restore.Exclude, "parallel": o.Restore.Parallel, "resume": o.Restore.Resume,
		"deleteExtra": o.Restore.DeleteExtra, "sparse": o.Restore.Sparse, "interval": o.Restore.ProgressInterval, "root": o.Restore.TargetRoot,
		"dryRun": o.Restore.DryRun, "verify": o.Restore.Verify, "bandwidth": o.Restore.BandwidthLimit,
	}
	want := map[string]any{
		"namespace": "flag-ns", "session": "flag-rs", "component": "dump", "snapshot": "flag-snap",
		"task": "t2", "scratch": "/flag-scratch", "mounts": []string{"/x"}, "kubeconfig": "/flag/kc",
		"include": []string{"a/b", "c"}, "exclude": []string{"*.tmp"}, "parallel": 3, "resume": false,
		"deleteExtra": true, "sparse": true, "interval": 250 * time.Millisecond, "root": "/mnt/root",
		"dryRun": true, "verify": true, "bandwidth": int64(50 << 20),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags over env:\n got %v\nwant %v", got, want)
	}
}

// Invalid flags and variables are refused before any API call, with an
// error naming the flag or variable.
func TestRestoreFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "bad duration", args: []string{"--progress-interval=soon"}, want: "progress-interval"},
		{name: "zero duration", args: []string{"--progress-interval=0s"}, want: "--progress-interval 0s"},
		{name: "not an int", args: []string{"--parallel=many"}, want: "parallel"},
		{name: "negative int", args: []string{"--parallel=-2"}, want: "-2 is negative"},
		{name: "not a bool", args: []string{"--resume=perhaps"}, want: "resume"},
		{name: "bandwidth not a quantity", args: []string{"--bandwidth-limit=fast"}, want: "--bandwidth-limit: \"fast\" is not a quantity"},
		{name: "negative bandwidth", args: []string{"--bandwidth-limit=-1Mi"}, want: "--bandwidth-limit: \"-1Mi\" is not a non-negative"},
		{name: "unknown flag", args: []string{"--no-such-flag"}, want: "no-such-flag"},
		{name: "bad nice variable", env: map[string]string{invocation.EnvNiceAdjustment: "low"}, want: invocation.EnvNiceAdjustment},
		{name: "ionice class out of range", env: map[string]string{invocation.EnvIONiceClass: "9"}, want: invocation.EnvIONiceClass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// runRestore stops before building API clients: no kubeconfig needed.
			err := runRestore(context.Background(), append(tc.args, "--kubeconfig=/nonexistent"), envFunc(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("runRestore(%v): %v, want an error mentioning %q", tc.args, err, tc.want)
			}
			if code := run(context.Background(), append([]string{"restore"}, tc.args...), envFunc(tc.env)); code != invocation.ExitCodePermanentFailure {
				t.Errorf("exit code %d, want %d: a retry gets the same flags", code, invocation.ExitCodePermanentFailure)
			}
		})
	}
}

func TestRunSubcommands(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"help"}, 0},
		{[]string{"restore", "-h"}, 0},
		{[]string{"snapshot", "--help"}, 0},
		{[]string{"snapshot"}, invocation.ExitCodeRetryableFailure}, // no --component
	} {
		if got := run(ctx, tc.args, envFunc(nil)); got != tc.want {
			t.Errorf("run(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}

// fakeAPI answers the executor's requests: status applies succeed and are
// recorded; GETs fail with getStatus.
type fakeAPI struct {
	getStatus int
	mu        sync.Mutex
	applies   []request
	gets      []string
}

type request struct {
	path, fieldManager, body string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/status"):
		f.applies = append(f.applies, request{path: r.URL.Path, fieldManager: r.URL.Query().Get("fieldManager"), body: string(body)})
		parts := strings.Split(r.URL.Path, "/")
		fmt.Fprintf(w, `{"apiVersion":"core.kubestash.com/v1alpha1","kind":"RestoreSession","metadata":{"namespace":%q,"name":%q}}`, parts[5], parts[7])
	case r.Method == http.MethodGet:
		f.gets = append(f.gets, r.URL.Path)
		w.WriteHeader(f.getStatus)
		_ = json.NewEncoder(w).Encode(&metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure, Code: int32(f.getStatus), Reason: metav1.StatusReason(http.StatusText(f.getStatus)),
			Message: "fake API: " + http.StatusText(f.getStatus),
		})
	default:
		http.Error(w, "unexpected request", http.StatusBadRequest)
	}
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(p, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+server+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
	return p
}

// run maps restore failures to the exit codes the controller's
// podFailurePolicy expects, and reports them in the component's status.
func TestRunRestoreExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		snapshot  string
		args      []string
		getStatus int
		wantCode  int
		wantPath  string   // of the status applies
		wantBody  []string // in the last status apply
		wantGets  bool
	}{
		{name: "latest is refused", snapshot: "latest", wantCode: invocation.ExitCodePermanentFailure,
			wantPath: "/namespaces/env-ns/restoresessions/env-rs/status", wantBody: []string{`"phase":"Failed"`, "resolved Snapshot name"}},
		{name: "empty snapshot is refused", snapshot: "", wantCode: invocation.ExitCodePermanentFailure,
			wantPath: "/namespaces/env-ns/restoresessions/env-rs/status", wantBody: []string{`"phase":"Failed"`, "resolved Snapshot name"}},
		{name: "permanent error", snapshot: "snap-1", args: []string{"--namespace=flag-ns", "--restoresession=flag-rs"},
			getStatus: http.StatusNotFound, wantCode: invocation.ExitCodePermanentFailure, wantGets: true,
			wantPath: "/namespaces/flag-ns/restoresessions/flag-rs/status", wantBody: []string{`"phase":"Failed"`, "flag-ns/flag-rs"}},
		{name: "retryable error", snapshot: "snap-1", getStatus: http.StatusServiceUnavailable,
			wantCode: invocation.ExitCodeRetryableFailure, wantGets: true,
			wantPath: "/namespaces/env-ns/restoresessions/env-rs/status", wantBody: []string{`"phase":"Running"`, "attempt failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{getStatus: tc.getStatus}
			srv := httptest.NewServer(api)
			defer srv.Close()
			env := map[string]string{
				"KUBECONFIG":                 writeKubeconfig(t, srv.URL),
				invocation.EnvNamespace:      "env-ns",
				invocation.EnvRestoreSession: "env-rs",
				invocation.EnvComponent:      "pod-0",
				invocation.EnvSnapshot:       tc.snapshot,
				invocation.EnvScratchDir:     t.TempDir(),
			}
			args := append([]string{"restore", "--target-root=" + t.TempDir()}, tc.args...)
			if code := run(context.Background(), args, envFunc(env)); code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.applies) < 2 {
				t.Fatalf("status applies %+v, want Running then the outcome", api.applies)
			}
			for _, a := range api.applies {
				if !strings.HasSuffix(a.path, tc.wantPath) || a.fieldManager != invocation.FieldManagerForComponent("pod-0") {
					t.Errorf("apply to %s as %q, want %s as %q", a.path, a.fieldManager, tc.wantPath, invocation.FieldManagerForComponent("pod-0"))
				}
			}
			last := api.applies[len(api.applies)-1].body
			for _, w := range tc.wantBody {
				if !strings.Contains(last, w) {
					t.Errorf("last status apply %s does not contain %s", last, w)
				}
			}
			if tc.wantGets != (len(api.gets) > 0) {
				t.Errorf("GETs %v, want some: %t", api.gets, tc.wantGets)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A failure the executor meets before it can report in status (here, bad
// flags) reaches the controller through the container's termination
// message: the file invocation.EnvTerminationMessagePath names holds the
// error, cut to what the kubelet keeps; without the variable nothing is
// written.
func TestTerminationMessage(t *testing.T) {
	long := "--parallel=" + strings.Repeat("é", invocation.TerminationMessageLimit)
	for _, tc := range []struct {
		name    string
		args    []string
		setPath bool
		want    string // contained in the message
		wantCut bool   // the message is longer than the kubelet keeps
	}{
		{name: "bad parallel", args: []string{"restore", "--parallel=many"}, setPath: true, want: `"many" is not an integer`},
		{name: "unknown flag of restore-manifests", args: []string{"restore-manifests", "--no-such-flag"}, setPath: true, want: "no-such-flag"},
		{name: "long message is cut on a rune boundary", args: []string{"restore", long}, setPath: true, want: `invalid value "éé`, wantCut: true},
		{name: "no variable, no file", args: []string{"restore", "--parallel=many"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "termination-log")
			env := map[string]string{}
			if tc.setPath {
				env[invocation.EnvTerminationMessagePath] = path
			}
			if code := run(context.Background(), append(tc.args, "--kubeconfig=/nonexistent"), envFunc(env)); code == 0 {
				t.Fatalf("run(%v) succeeded", tc.args)
			}
			got, err := os.ReadFile(path)
			if !tc.setPath {
				if !os.IsNotExist(err) {
					t.Fatalf("termination message written without %s: %q, %v", invocation.EnvTerminationMessagePath, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tc.want) {
				t.Errorf("termination message %q does not contain %q", got, tc.want)
			}
			if tc.wantCut && len(got) < invocation.TerminationMessageLimit-utf8.UTFMax {
				t.Errorf("termination message of %d bytes, want it cut at %d", len(got), invocation.TerminationMessageLimit)
			}
			if len(got) > invocation.TerminationMessageLimit || !utf8.Valid(got) {
				t.Errorf("termination message of %d bytes (valid UTF-8: %t), want at most %d of valid UTF-8", len(got), utf8.Valid(got), invocation.TerminationMessageLimit)
			}
		})
	}
}

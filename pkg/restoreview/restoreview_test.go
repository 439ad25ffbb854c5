package restoreview

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// now is the clock of every rendering below.
var now = time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// running is a StatefulSet restore of three components midway: one done,
// one running, one pending; a pre-restore hook done, a backup paused.
func running() *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "sample-restore", Namespace: "demo", UID: "u1", CreationTimestamp: at(-5 * time.Minute)},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "restore-sts"},
			DataSource: corev1alpha1.RestoreDataSource{
				Repository:       "gcs-demo-repo",
				Snapshot:         "latest",
				Components:       []string{"pod-0", "pod-1", "pod-2"},
				EncryptionSecret: &common.ObjectReference{Name: "encrypt-secret", Namespace: "stash"},
			},
			Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{
				Name: "logical-backup-restore", Params: &runtime.RawExtension{Raw: []byte(`{"parallel":"16"}`)},
			}}},
			RestoreTimeout: &metav1.Duration{Duration: time.Hour},
		},
		Status: corev1alpha1.RestoreSessionStatus{
			Phase:           corev1alpha1.RestoreRunning,
			TargetFound:     ptr.To(true),
			Progress:        "1/3 components, 50%",
			RestoreDeadline: ptr.To(at(55 * time.Minute)),
			TotalComponents: 3,
			Components: map[string]corev1alpha1.ComponentRestoreStatus{
				"pod-0": {Phase: corev1alpha1.RestoreSucceeded, Duration: "12s", Progress: &corev1alpha1.RestoreProgress{
					TotalBytes: 10 << 20, RestoredBytes: 10 << 20, TotalFiles: 12, RestoredFiles: 12, Percentage: 100}},
				"pod-1": {Phase: corev1alpha1.RestoreRunning, Progress: &corev1alpha1.RestoreProgress{
					TotalBytes: 3 << 30, RestoredBytes: 3 << 29, TotalFiles: 700, RestoredFiles: 350, Percentage: 50,
					Speed: "84.2 MiB/s", ETA: "18s"}},
			},
			Hooks: &corev1alpha1.HookStatus{PreHooks: []corev1alpha1.HookExecutionStatus{
				{Name: "quiesce", Phase: corev1alpha1.HookExecutionSucceeded, Attempts: 1},
			}},
			Dependencies: []corev1alpha1.ResourceFoundStatus{
				{Kind: "Repository", Namespace: "demo", Name: "gcs-demo-repo", Found: true},
				{Kind: "Snapshot", Namespace: "demo", Name: "gcs-demo-repo-sample-backup-1733140000", Found: true},
			},
			PausedBackups: []common.TypedObjectReference{{APIGroup: "core.kubestash.com", Kind: "BackupConfiguration", Name: "sample-backup", Namespace: "demo"}},
			Conditions: []metav1.Condition{
				{Type: "RestoreTargetFound", Status: metav1.ConditionTrue, Reason: "TargetAvailable", Message: "Target StatefulSet demo/restore-sts exists.", LastTransitionTime: at(-5 * time.Minute)},
				{Type: "RestoreJobsRunning", Status: metav1.ConditionFalse, Reason: "JobsRunning", Message: "2 of 3\nJobs running.", LastTransitionTime: at(-4 * time.Minute)},
			},
		},
	}
}

// failed is a restore whose one component failed, without hooks or events.
func failed() *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-restore", Namespace: "apps", CreationTimestamp: at(-2 * time.Hour)},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target:     &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data", Namespace: "apps"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "repo", Namespace: "backups", Snapshot: "snap-1"},
			Addon:      corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
		Status: corev1alpha1.RestoreSessionStatus{
			Phase:           corev1alpha1.RestoreFailed,
			Duration:        "1m40s",
			TotalComponents: 1,
			Components: map[string]corev1alpha1.ComponentRestoreStatus{
				"dump": {Phase: corev1alpha1.RestoreFailed, Duration: "1m30s", Error: "reading app/db/data.bin: object not found"},
			},
		},
	}
}

func events() []corev1.Event {
	ev := func(reason, msg string, d time.Duration, typ string) corev1.Event {
		return corev1.Event{Type: typ, Reason: reason, Message: msg, LastTimestamp: at(d), Source: corev1.EventSource{Component: "restore-controller"}}
	}
	list := []corev1.Event{ev("RestoreJobCreated", "Created restore Job restore-sample-restore-pod-1 for component \"pod-1\".", -3*time.Minute, corev1.EventTypeNormal)}
	// More than MaxEvents, out of order: the oldest are left out.
	for i := range MaxEvents {
		list = append(list, ev("Progress", "tick "+string(rune('a'+i)), -time.Duration(i)*time.Minute-30*time.Second, corev1.EventTypeNormal))
	}
	list = append(list, ev("BackupPaused", "Paused BackupConfiguration demo/sample-backup.", -20*time.Minute, corev1.EventTypeWarning))
	return list
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		golden string
		rs     *corev1alpha1.RestoreSession
		events []corev1.Event
	}{
		{"describe-running.golden", running(), events()},
		{"describe-failed.golden", failed(), nil},
		{"describe-new.golden", &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "demo", CreationTimestamp: at(-time.Second)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := Describe(&b, tt.rs, tt.events, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.String())
		})
	}
}

func TestBars(t *testing.T) {
	pending := running()
	delete(pending.Status.Components, "pod-0")
	pending.Status.RestoreDeadline = ptr.To(at(-time.Second))
	for _, tt := range []struct {
		golden string
		rs     *corev1alpha1.RestoreSession
	}{
		{"bars-running.golden", running()},
		{"bars-deadline-passed.golden", pending},
		{"bars-failed.golden", failed()},
	} {
		t.Run(tt.golden, func(t *testing.T) { golden(t, tt.golden, Bars(tt.rs, now)) })
	}
}

func TestBar(t *testing.T) {
	for pct, want := range map[int32]string{
		-5:  "[" + strings.Repeat("-", BarWidth) + "]",
		0:   "[" + strings.Repeat("-", BarWidth) + "]",
		50:  "[" + strings.Repeat("#", BarWidth/2) + strings.Repeat("-", BarWidth/2) + "]",
		100: "[" + strings.Repeat("#", BarWidth) + "]",
		130: "[" + strings.Repeat("#", BarWidth) + "]",
	} {
		if got := bar(pct); got != want {
			t.Errorf("bar(%d) = %q, want %q", pct, got, want)
		}
	}
}

func TestRecentEvents(t *testing.T) {
	got := RecentEvents(events(), 3)
	var reasons []string
	for _, e := range got {
		reasons = append(reasons, e.Reason+"@"+e.LastTimestamp.Sub(now).String())
	}
	want := "Progress@-1m30s Progress@-30s"
	if len(got) != 3 || !strings.HasSuffix(strings.Join(reasons, " "), want) {
		t.Errorf("RecentEvents = %v, want 3 ending in %s", reasons, want)
	}
}

// sequence returns a Getter that yields each state in turn and then the
// last forever, and a clock that advances a second per read.
func sequence(states ...func() (*corev1alpha1.RestoreSession, error)) (Getter, func() time.Time) {
	i := 0
	clock := now
	get := func(context.Context) (*corev1alpha1.RestoreSession, error) {
		clock = clock.Add(time.Second)
		s := states[min(i, len(states)-1)]
		i++
		return s()
	}
	return get, func() time.Time { return clock }
}

func TestFollow(t *testing.T) {
	notFound := func() (*corev1alpha1.RestoreSession, error) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "core.kubestash.com", Resource: "restoresessions"}, "sample-restore")
	}
	broken := func() (*corev1alpha1.RestoreSession, error) { return nil, errors.New("connection refused") }
	state := func(rs *corev1alpha1.RestoreSession) func() (*corev1alpha1.RestoreSession, error) {
		return func() (*corev1alpha1.RestoreSession, error) { return rs, nil }
	}
	done := running()
	done.Status.Phase = corev1alpha1.RestoreSucceeded
	done.Status.Duration = "2m"
	done.Status.Components["pod-1"] = corev1alpha1.ComponentRestoreStatus{Phase: corev1alpha1.RestoreSucceeded, Duration: "1m"}
	done.Status.Components["pod-2"] = corev1alpha1.ComponentRestoreStatus{Phase: corev1alpha1.RestoreSucceeded, Duration: "58s"}

	tests := []struct {
		golden    string
		live      bool
		states    []func() (*corev1alpha1.RestoreSession, error)
		wantPhase corev1alpha1.RestorePhase
		wantErr   error
	}{
		{"follow-lines.golden", false, []func() (*corev1alpha1.RestoreSession, error){notFound, broken, state(running()), state(running()), state(done)}, corev1alpha1.RestoreSucceeded, nil},
		{"follow-live.golden", true, []func() (*corev1alpha1.RestoreSession, error){state(running()), state(done)}, corev1alpha1.RestoreSucceeded, nil},
		{"follow-failed.golden", false, []func() (*corev1alpha1.RestoreSession, error){state(failed())}, corev1alpha1.RestoreFailed, nil},
		{"follow-timeout.golden", false, []func() (*corev1alpha1.RestoreSession, error){state(running())}, corev1alpha1.RestoreRunning, ErrNotFinished},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			get, clock := sequence(tt.states...)
			var b bytes.Buffer
			opts := FollowOptions{Out: &b, Live: tt.live, Interval: time.Millisecond, Now: clock}
			if tt.wantErr != nil {
				opts.Timeout = 50 * time.Millisecond
			}
			rs, err := Follow(context.Background(), get, opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Follow: err = %v, want %v", err, tt.wantErr)
			}
			if rs == nil || rs.Status.Phase != tt.wantPhase {
				t.Fatalf("Follow returned %v, want phase %s", rs, tt.wantPhase)
			}
			golden(t, tt.golden, b.String())
		})
	}
}

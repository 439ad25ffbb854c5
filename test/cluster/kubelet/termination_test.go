package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestTerminationMessage(t *testing.T) {
	manyLines := strings.Repeat("line\n", 100)
	for _, tc := range []struct {
		name   string
		file   string // written to the termination message file
		log    string // the container's log: an earlier start's "old\n", then this one's
		policy corev1.TerminationMessagePolicy
		code   int32
		want   string
	}{
		{name: "the file wins", file: "bad flag", log: "old\nlogged\n", policy: corev1.TerminationMessageFallbackToLogsOnError, code: 3, want: "bad flag"},
		{name: "the file is cut", file: strings.Repeat("x", 5000), code: 1, want: strings.Repeat("x", terminationMessageMaxBytes)},
		{name: "fallback to this start's log", log: "old\nlogged\n", policy: corev1.TerminationMessageFallbackToLogsOnError, code: 137, want: "logged\n"},
		{name: "no fallback on success", log: "old\nlogged\n", policy: corev1.TerminationMessageFallbackToLogsOnError, code: 0, want: ""},
		{name: "no fallback with policy File", log: "old\nlogged\n", policy: corev1.TerminationMessageReadFile, code: 1, want: ""},
		{name: "the log tail is its last 80 lines", log: "old\n" + manyLines, policy: corev1.TerminationMessageFallbackToLogsOnError, code: 1, want: strings.Repeat("line\n", terminationMessageLogMaxLines)},
		{name: "the log tail is at most 2048 bytes", log: "old\n" + strings.Repeat("y", 3000), policy: corev1.TerminationMessageFallbackToLogsOnError, code: 1, want: strings.Repeat("y", terminationMessageLogMaxBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			term := termination{file: filepath.Join(dir, "termination-log"), log: filepath.Join(dir, "c.log"), logOffset: int64(len("old\n"))}
			if err := os.WriteFile(term.file, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(term.log, []byte(tc.log), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := term.message(tc.policy, tc.code); got != tc.want {
				t.Errorf("message = %q (%d bytes), want %q (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

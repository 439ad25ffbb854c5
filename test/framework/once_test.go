package framework

import (
	"errors"
	"strings"
	"testing"
)

func TestOnceRunsSetupOnceAndFailsEveryUserOfAFailedSetup(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantFatal bool
	}{
		{name: "setup succeeds"},
		{name: "setup fails", err: errors.New("no cluster"), wantFatal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var once Once[int]
			calls := 0
			setup := func() (int, error) {
				calls++
				return 42, tc.err
			}
			for i := range 3 {
				var got int
				r := run(t, func(tb testing.TB) { got = once.Do(tb, "starting the cluster", setup) })
				if r.fatal != tc.wantFatal {
					t.Errorf("use %d: fatal = %t, want %t (errors %q)", i, r.fatal, tc.wantFatal, r.errors)
				}
				if tc.wantFatal && (len(r.errors) != 1 || !strings.Contains(r.errors[0], "starting the cluster: no cluster")) {
					t.Errorf("use %d: errors %q, want one naming the setup and its error", i, r.errors)
				}
				if !tc.wantFatal && got != 42 {
					t.Errorf("use %d: got %d, want the setup's 42", i, got)
				}
			}
			if calls != 1 {
				t.Errorf("setup ran %d times, want once", calls)
			}
		})
	}
}

package framework

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Poll calls cond every 100ms until it returns true, failing the test with
// cond's error or, at the timeout, with what it last reported seeing.
func Poll(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (ok bool, seen string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, seen, err := cond(ctx)
		if seen != "" {
			last = seen
		}
		return ok, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
	}
}

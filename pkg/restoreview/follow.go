package restoreview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// Getter reads the RestoreSession being followed.
type Getter func(ctx context.Context) (*corev1alpha1.RestoreSession, error)

// FollowOptions say how Follow shows a restore.
type FollowOptions struct {
	// Out receives the output.
	Out io.Writer
	// Live redraws progress bars in place (a terminal); otherwise each
	// fact is printed on its own line when it changes (logs, pipes).
	Live bool
	// Interval between two reads; 0 means DefaultInterval.
	Interval time.Duration
	// Timeout bounds the whole follow; 0 means no bound but ctx's.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultInterval is how often Follow reads the RestoreSession.
const DefaultInterval = 500 * time.Millisecond

// ErrNotFinished is returned, wrapped, when the follow ends (timeout or
// ctx) before the restore does.
var ErrNotFinished = errors.New("restore did not finish")

// Follow reads the RestoreSession through get until its phase is Succeeded
// or Failed, showing its progress as it changes, and returns its last
// state. A RestoreSession not created yet, and read errors (an API server
// restarting), are shown and waited through until the timeout.
func Follow(ctx context.Context, get Getter, opts FollowOptions) (*corev1alpha1.RestoreSession, error) {
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	start := now()
	seen := map[string]string{} // the line last printed per key (line mode)
	show := func(key, line string) error {
		if seen[key] == line {
			return nil
		}
		seen[key] = line
		_, err := fmt.Fprintf(opts.Out, "  [%s] %s\n", now().Sub(start).Round(100*time.Millisecond), line)
		return err
	}
	prevLines := 0
	var last *corev1alpha1.RestoreSession
	var writeErr error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		rs, err := get(ctx)
		switch {
		case apierrors.IsNotFound(err):
			writeErr = show("phase", "RestoreSession not created yet")
			return writeErr != nil, nil
		case err != nil:
			writeErr = show("error", "get: "+err.Error())
			return writeErr != nil, nil
		}
		last = rs
		if opts.Live {
			prevLines, writeErr = liveFrame(opts.Out, Bars(rs, now()), prevLines)
		} else {
			for _, l := range StatusLines(rs) {
				if writeErr = show(l.Key, l.Line); writeErr != nil {
					break
				}
			}
		}
		return writeErr != nil || finished(rs.Status.Phase), nil
	})
	if writeErr != nil {
		return last, writeErr
	}
	if err != nil {
		state := "never read"
		if last != nil {
			state = "last phase " + orNone(string(last.Status.Phase))
		}
		return last, fmt.Errorf("%w after %s (%s): %w", ErrNotFinished, now().Sub(start).Round(time.Second), state, err)
	}
	return last, nil
}

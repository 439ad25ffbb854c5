package controller

import "time"

// A hook whose attempt failed with retries left is retried after a backoff
// that doubles with every failed attempt: the wait before attempt n+1 is
// min(HookRetryBackoff * 2^(n-1), HookRetryBackoffMax), for every hook executor type.
// The wait is level-triggered: the sync that applies the failure notes
// when it saw it (in the hook attempt table, hookasync.go) and asks for a
// sync when the wait is over; any sync before then finds the wait not over
// and asks again for the time left. No worker sleeps.
//
// status.hooks has no timestamp to keep the failure time in, so it lives in
// memory only: after a controller restart the next attempt of a hook that
// was waiting starts at once.

// hookRetryBackoff is the wait after failed attempt n of a hook before the
// next one.
func (o *Options) hookRetryBackoff(failed int32) time.Duration {
	d := o.HookRetryBackoff
	for n := int32(1); n < failed && d < o.HookRetryBackoffMax; n++ {
		d *= 2
	}
	return min(d, o.HookRetryBackoffMax)
}

// waitForHookRetry reports whether attempt key must still wait for the
// backoff after the hook's previous, failed attempt; if so it asks for a
// sync when the wait is over.
func (c *Controller) waitForHookRetry(s *restoreState, key hookAttemptKey) bool {
	if key.attempt <= 1 {
		return false
	}
	f, ok := c.hookAttempts.lastFailure(key.hookID)
	if !ok || f.attempt != key.attempt-1 {
		// Not seen by this controller (it restarted): retry now.
		return false
	}
	left := f.at.Add(c.opts.hookRetryBackoff(f.attempt)).Sub(s.now.Time)
	if left <= 0 {
		return false
	}
	s.result.requeueWithin(left)
	return true
}

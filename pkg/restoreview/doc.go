// Package restoreview shows a RestoreSession to people: the description of
// `kubectl restore describe`, the per-component progress bars of `kubectl
// restore watch`, and the follower both that command and the demo
// (test/cmd/demo watch) use to follow a restore until it ends.
//
// Rendering functions take the clock as an argument and never read it, so
// their output is a pure function of their inputs (golden-tested).
package restoreview

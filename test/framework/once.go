package framework

import (
	"sync"
	"testing"
)

// Once runs a setup that a test package's tests share (a build, a cluster,
// an installation) for the first test that needs it and hands the result to
// every later one. Unlike a bare sync.Once, a setup that failed fails each
// test that needs it, not only the first.
type Once[T any] struct {
	once sync.Once
	val  T
	err  error
}

// Do runs setup the first time it is called and returns its result; if
// setup failed, it fails the test with what and the error.
func (o *Once[T]) Do(t testing.TB, what string, setup func() (T, error)) T {
	t.Helper()
	o.once.Do(func() { o.val, o.err = setup() })
	if o.err != nil {
		t.Fatalf("%s: %v", what, o.err)
	}
	return o.val
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/restore-controller/restore/pkg/engine"
)

func TestRetryable(t *testing.T) {
	gr := schema.GroupResource{Group: "core.kubestash.com", Resource: "restoresessions"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unreachable storage", fmt.Errorf("opening: %w", engine.ErrStorageUnreachable), true},
		{"pod stopped", fmt.Errorf("restoring: %w", context.Canceled), true},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"API overloaded", apierrors.NewTooManyRequests("slow down", 1), true},
		{"API timeout", apierrors.NewServerTimeout(gr, "get", 1), true},
		{"wrong password", fmt.Errorf("opening: %w", engine.ErrInvalidPassword), false},
		{"storage refused the key", fmt.Errorf("opening: %w", engine.ErrStorageAccessDenied), false},
		{"bucket missing", fmt.Errorf("opening: %w", engine.ErrBucketNotFound), false},
		{"bucket missing, reported through a network error", fmt.Errorf("%w: %w", engine.ErrBucketNotFound, &net.OpError{Op: "read", Err: errors.New("x")}), false},
		{"snapshot missing", engine.ErrSnapshotNotFound, false},
		{"corruption", engine.ErrRepositoryCorruption, false},
		{"no space", engine.ErrNoSpaceLeft, false},
		// syscall.Errno is a net.Error: a full target is no network failure.
		{"no space, with its errno", fmt.Errorf("%w: %w", engine.ErrNoSpaceLeft, &os.PathError{Op: "write", Path: "/data/f", Err: syscall.ENOSPC}), false},
		{"corruption, with its cause", fmt.Errorf("%w: %w", engine.ErrRepositoryCorruption, &net.OpError{Op: "read", Err: errors.New("x")}), false},
		{"bare ENOSPC", &os.PathError{Op: "write", Path: "/data/f", Err: syscall.ENOSPC}, false},
		{"bare ECONNREFUSED", syscall.ECONNREFUSED, true},
		{"secret missing", ErrMissingSecret, false},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{"RestoreSession gone", apierrors.NewNotFound(gr, "x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %t, want %t", tc.err, got, tc.want)
			}
		})
	}
}

package executor

import (
	"context"
	"errors"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/restore-controller/restore/pkg/engine"
)

// Retryable reports whether a retried Job can be expected to get past err:
// the storage or the API server was unreachable or overloaded, or the pod
// was stopped. Everything else (a wrong password, a missing Snapshot or
// Secret, credentials the storage refuses, a missing bucket or container,
// corruption, an unsafe snapshot, a full target) fails the same way every
// time.
func Retryable(err error) bool {
	var netErr net.Error
	switch {
	case err == nil:
		return false
	// The store answered, and said no: checked before the network and
	// unreachable cases, which a wrapped cause could also match.
	case errors.Is(err, engine.ErrStorageAccessDenied), errors.Is(err, engine.ErrBucketNotFound),
		errors.Is(err, engine.ErrNoSpaceLeft), errors.Is(err, engine.ErrRepositoryCorruption),
		errors.Is(err, engine.ErrInvalidPassword):
		return false
	case errors.Is(err, engine.ErrStorageUnreachable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &netErr):
		// A bare syscall.Errno is a net.Error too (it has Timeout and
		// Temporary): only a network one is the network's fault, not
		// ENOSPC or EACCES of a file.
		if errno, ok := netErr.(syscall.Errno); ok {
			return networkErrno(errno)
		}
		return true
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	default:
		return false
	}
}

// networkErrno reports whether errno is a failure of the network or of
// the peer, which a later attempt may not meet.
func networkErrno(errno syscall.Errno) bool {
	switch errno {
	case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.ETIMEDOUT,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN, syscall.EPIPE:
		return true
	}
	return false
}

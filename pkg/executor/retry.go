package executor

import (
	"context"
	"errors"
	"net"

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
	case errors.Is(err, engine.ErrStorageAccessDenied), errors.Is(err, engine.ErrBucketNotFound):
		return false
	case errors.Is(err, engine.ErrStorageUnreachable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr):
		return true
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	default:
		return false
	}
}

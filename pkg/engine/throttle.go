package engine

import (
	"fmt"

	"github.com/kopia/kopia/repo/blob/throttling"
)

// The bandwidth limit (CheckOptions.BandwidthLimit). Kopia opens its blob
// storage from the connection's config file and wraps it in its own
// throttler, one token bucket per open repository shared by every reader
// of it: the restore workers, index and metadata reads alike. Setting the
// download limit on that throttler after the repository is open therefore
// limits all bytes read from the storage, and its bucket starts empty
// (the limit was zero when it was created), so a restore does not begin
// with a burst above the limit. Reads served from kopia's local cache cost
// nothing.

// bandwidthLimiter is the part of an open repository the limit needs
// (repo.DirectRepository has it).
type bandwidthLimiter interface {
	Throttler() throttling.SettableThrottler
}

// setBandwidthLimit caps the bytes per second rep reads from its storage;
// bytesPerSecond 0 leaves the repository's limits as they are.
func setBandwidthLimit(rep any, bytesPerSecond int64) error {
	if bytesPerSecond <= 0 {
		return nil
	}
	if r, ok := rep.(*Repository); ok {
		rep = r.Repository
	}
	dr, ok := rep.(bandwidthLimiter)
	if !ok {
		return fmt.Errorf("bandwidth limit: the repository (%T) cannot be throttled", rep)
	}
	t := dr.Throttler()
	limits := t.Limits()
	limits.DownloadBytesPerSecond = float64(bytesPerSecond)
	if err := t.SetLimits(limits); err != nil {
		return fmt.Errorf("bandwidth limit %d bytes/s: %w", bytesPerSecond, err)
	}
	return nil
}

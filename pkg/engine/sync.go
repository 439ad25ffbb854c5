package engine

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFilesystem flushes the filesystem holding p to stable storage.
// Kopia v0.21.1 does not fsync restored files, so the restore syncs each
// destination's filesystem once before it reports success; syncfs(2) writes
// back that filesystem only, not every mounted one.
func syncFilesystem(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("opening %q to sync it: %w", p, err)
	}
	defer f.Close() //nolint:errcheck
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing the filesystem of %q: %w", p, err)
	}
	return nil
}

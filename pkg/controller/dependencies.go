package controller

import (
	"context"

	"github.com/restore-controller/restore/pkg/refs"
)

// loadDependencies reloads, on syncs after validation passed, the objects
// validation resolved, with the same rules: the owners' consent is checked
// again, so a consent withdrawn since leaves the object out. The Snapshot is
// the one recorded in status.dependencies, so a "latest" restore keeps the
// Snapshot it started with. Objects deleted or refused since stay nil: the
// steps that need them report it.
func (c *Controller) loadDependencies(ctx context.Context, s *restoreState) error {
	res, err := c.resolver().Resolve(ctx, s.rs, refs.ResolvedSnapshotName(s.rs))
	if err != nil {
		return err
	}
	s.setResolution(res)
	// Addon problems were reported by validation; a task whose Addon or
	// Function disappeared since is simply missing from s.tasks.
	_, _ = c.resolveAddon(s)
	return nil
}

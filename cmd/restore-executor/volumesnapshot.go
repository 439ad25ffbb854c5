package main

import (
	"context"

	"github.com/restore-controller/restore/pkg/executor"
)

// runRestoreVolumeSnapshot is the restore-volumesnapshot subcommand: it
// creates the PVCs of its task's targetVolumes.volumeClaimTemplates from the
// component's VolumeSnapshots (executor.RunVolumeSnapshotRestore). It takes
// the restore subcommand's flags and environment; those that shape a data
// restore do not apply and are ignored.
func runRestoreVolumeSnapshot(ctx context.Context, args []string, getenv func(string) string) error {
	o, cfg, err := parseRestoreFlags(ctx, "restore-volumesnapshot", args, getenv)
	if err != nil {
		return err
	}
	c, err := clientsFor(cfg)
	if err != nil {
		return err
	}
	return executor.RunVolumeSnapshotRestore(ctx, c, *o, executor.VolumeSnapshotRestore{Kube: c.Kube})
}

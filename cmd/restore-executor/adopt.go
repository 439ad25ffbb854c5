package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/invocation"
)

// adoptCmd is "snapshot adopt": register kopia snapshots that already
// exist in a Repository's kopia repository (kopia CLI, Velero) as a
// Snapshot object (executor.AdoptSnapshotObject); with --list, print the
// repository's kopia snapshots as JSON instead.
const adoptCmd = "adopt"

// adoptFlag collects repeated --component NAME=KOPIA_SNAPSHOT_ID[:HOSTPATH].
func adoptFlag() *groupedFlag[engine.SnapshotEntry, executor.AdoptedComponent] {
	return &groupedFlag[engine.SnapshotEntry, executor.AdoptedComponent]{
		parse: executor.ParseAdoptFlag,
		group: func(name string, entries []engine.SnapshotEntry) executor.AdoptedComponent {
			return executor.AdoptedComponent{Name: name, Entries: entries}
		},
	}
}

func runAdopt(ctx context.Context, args []string, getenv func(string) string) error {
	fs := newFlagSet("snapshot adopt")
	var o executor.AdoptOptions
	comps := adoptFlag()
	fs.StringVar(&o.Namespace, "namespace", getenv(invocation.EnvNamespace), "namespace of the Repository and the Snapshot")
	fs.StringVar(&o.Repository, "repository", "", "Repository whose storage and encryption Secret reach the kopia repository")
	fs.StringVar(&o.Name, "name", "", "Snapshot name to create or update")
	fs.Var(comps, "component", "NAME=KOPIA_SNAPSHOT_ID[:HOSTPATH], repeatable (several IDs make a component of several entries); HOSTPATH (default: the kopia snapshot's source path) is where a restore puts the data")
	list := fs.Bool("list", false, "print the kopia snapshots in the repository as JSON and record nothing")
	fs.StringVar(&o.LocalStorageDir, "local-storage-dir", "", "use this directory instead of a local BackupStorage's mountPath")
	fs.StringVar(&o.ScratchDir, "scratch-dir", orDefault(getenv(invocation.EnvScratchDir), ""), "writable dir for kopia config and caches (default: temp dir)")
	kubeconfig := fs.String("kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*list && len(comps.names) == 0 {
		return errors.New("at least one --component NAME=KOPIA_SNAPSHOT_ID[:HOSTPATH] is required (--list shows the repository's snapshots)")
	}
	o.Components = comps.groups()
	cfg, err := restConfig(*kubeconfig)
	if err != nil {
		return err
	}
	c, err := clientsFor(cfg)
	if err != nil {
		return err
	}
	if *list {
		infos, err := executor.ListKopiaSnapshots(ctx, c, o)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			return fmt.Errorf("writing the list: %w", err)
		}
		return nil
	}
	snap, err := executor.AdoptSnapshotObject(ctx, c, o)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Snapshot recorded from existing kopia snapshots", "snapshot", klog.KObj(snap), "components", len(snap.Status.Components))
	return nil
}

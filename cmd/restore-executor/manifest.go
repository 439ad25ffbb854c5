package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/executor"
)

// runRestoreManifests is the restore-manifests subcommand. It takes the
// restore subcommand's flags and environment (so one Function's args fit
// both); the flags that shape a data restore (include, exclude, parallel,
// resume, delete-extra, sparse, target-*) do not apply to manifests and
// are ignored.
func runRestoreManifests(ctx context.Context, args []string, getenv func(string) string) error {
	o, cfg, err := parseRestoreFlags(ctx, "restore-manifests", args, getenv)
	if err != nil {
		return err
	}
	c, err := clientsFor(cfg)
	if err != nil {
		return err
	}
	mc, err := executor.NewManifestClients(cfg)
	if err != nil {
		return err
	}
	return executor.RunManifestRestore(ctx, c, mc, *o)
}

// manifestsFlag collects repeated --manifests COMPONENT=NS/RESOURCE[/NAME].
func manifestsFlag() *groupedFlag[executor.ManifestSelector, executor.ManifestComponent] {
	return &groupedFlag[executor.ManifestSelector, executor.ManifestComponent]{
		parse: executor.ParseManifestFlag,
		group: func(name string, sels []executor.ManifestSelector) executor.ManifestComponent {
			return executor.ManifestComponent{Name: name, Selectors: sels}
		},
	}
}

// dumpManifests writes the manifest components into a private temporary
// directory (under scratchDir when set) for the snapshot; cleanup removes
// it, since it holds Secrets.
func dumpManifests(ctx context.Context, cfg *rest.Config, comps []executor.ManifestComponent, scratchDir string) ([]executor.ComponentSources, func(), error) {
	mc, err := executor.NewManifestClients(cfg)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(scratchDir, "manifests-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating a directory for the manifests: %w", err)
	}
	cleanup := func() {
		if err := os.RemoveAll(dir); err != nil {
			klog.FromContext(ctx).Error(err, "Removing the dumped manifests", "dir", dir)
		}
	}
	sources, err := executor.DumpManifestComponents(ctx, mc, comps, dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return sources, cleanup, nil
}

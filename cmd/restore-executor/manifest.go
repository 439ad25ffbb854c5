package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/manifest"
)

// runRestoreManifests is the restore-manifests subcommand. It takes the
// restore subcommand's flags and environment (so one Function's args fit
// both); the flags that shape a data restore (include, exclude, parallel,
// resume, delete-extra, sparse, target-*) do not apply to manifests and
// are ignored.
//
// With --kubedump it restores a component in the resource tree layout
// (KubeStash's kubedump-addon) into the cluster, taking the task's params
// as flags of their own names (--IncludeClusterResources=true, …); without
// it, a component of the manifest format into
// spec.manifestOptions.restoreNamespace.
func runRestoreManifests(ctx context.Context, args []string, getenv func(string) string) error {
	var kubedump bool
	params := map[string]*string{}
	o, cfg, err := parseRestoreFlags(ctx, "restore-manifests", args, getenv, func(fs *flag.FlagSet) {
		fs.BoolVar(&kubedump, "kubedump", false, "restore a component in the resource tree layout (kubedump-addon) into the cluster, with the params below")
		for _, p := range manifest.ClusterParams {
			params[p] = fs.String(p, "", "kubedump-addon param "+p+" (with --kubedump)")
		}
	})
	if err != nil {
		return err
	}
	var clusterOpts manifest.ClusterOptions
	if kubedump {
		values := map[string]string{}
		for p, v := range params {
			values[p] = *v
		}
		if clusterOpts, err = manifest.ParseClusterOptions(values); err != nil {
			return err
		}
	}
	c, err := clientsFor(cfg)
	if err != nil {
		return err
	}
	mc, err := executor.NewManifestClients(cfg)
	if err != nil {
		return err
	}
	if kubedump {
		return executor.RunClusterManifestRestore(ctx, c, mc, *o, clusterOpts)
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

// privateDumpDir creates a new directory named pattern plus a random
// suffix, mode 0700, under scratchDir (created first when it does not
// exist yet, as the kopia side of the snapshot does) or, without one,
// under the system's temporary directory.
func privateDumpDir(scratchDir, pattern string) (string, error) {
	if scratchDir != "" {
		if err := os.MkdirAll(scratchDir, 0o700); err != nil {
			return "", err
		}
	}
	return os.MkdirTemp(scratchDir, pattern)
}

// dumpManifests writes the manifest components into a private temporary
// directory (under scratchDir when set) for the snapshot; cleanup removes
// it, since it holds Secrets.
func dumpManifests(ctx context.Context, cfg *rest.Config, comps []executor.ManifestComponent, scratchDir string) ([]executor.ComponentSources, func(), error) {
	mc, err := executor.NewManifestClients(cfg)
	if err != nil {
		return nil, nil, err
	}
	dir, err := privateDumpDir(scratchDir, "manifests-")
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

// clusterDumpFlags binds the snapshot subcommand's flags of a cluster dump
// (--cluster-manifests COMPONENT and the filter flags); finish returns the
// dump, nil when --cluster-manifests was not given.
func clusterDumpFlags(fs *flag.FlagSet) (finish func() (*executor.ClusterDump, error)) {
	component := fs.String("cluster-manifests", "", "COMPONENT: dump live objects of the cluster into this manifest component in the resource tree layout (kubedump-addon), filtered by the --dump-* flags")
	namespaces := fs.String("dump-namespaces", "", "comma-separated namespaces to dump (empty or *: all)")
	resources := fs.String("dump-resources", "", "comma-separated resources to dump, e.g. deployments.apps,configmaps (empty or *: all)")
	selectors := fs.String("dump-label-selectors", "", "comma-separated labels k=v or k an object must all carry")
	cluster := fs.Bool("dump-cluster-resources", false, "dump cluster-scoped objects too (Namespaces of dumped objects always are)")
	return func() (*executor.ClusterDump, error) {
		if *component == "" {
			return nil, nil
		}
		opts, err := manifest.ParseClusterOptions(map[string]string{
			manifest.ParamIncludeNamespaces:   *namespaces,
			manifest.ParamIncludeResources:    *resources,
			manifest.ParamANDedLabelSelectors: *selectors,
		})
		if err != nil {
			return nil, fmt.Errorf("--dump-*: %w", err)
		}
		opts.IncludeClusterResources = *cluster
		return &executor.ClusterDump{Component: *component, Filter: opts.Filter}, nil
	}
}

// dumpCluster writes the cluster dump into a private temporary directory
// (under scratchDir when set); cleanup removes it, since it holds Secrets.
func dumpCluster(ctx context.Context, cfg *rest.Config, d executor.ClusterDump, scratchDir string) (executor.ComponentSources, func(), error) {
	mc, err := executor.NewManifestClients(cfg)
	if err != nil {
		return executor.ComponentSources{}, nil, err
	}
	dir, err := privateDumpDir(scratchDir, "cluster-manifests-")
	if err != nil {
		return executor.ComponentSources{}, nil, fmt.Errorf("creating a directory for the manifests: %w", err)
	}
	cleanup := func() {
		if err := os.RemoveAll(dir); err != nil {
			klog.FromContext(ctx).Error(err, "Removing the dumped manifests", "dir", dir)
		}
	}
	src, err := executor.DumpClusterComponent(ctx, mc, d, dir)
	if err != nil {
		cleanup()
		return executor.ComponentSources{}, nil, err
	}
	return src, cleanup, nil
}

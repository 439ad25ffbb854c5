package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/version"
)

// restoreFlags binds the restore subcommand's flags; those with an
// invocation.Env* variable default to it. Task parameters (include,
// exclude, parallel, resume, deleteExtra, sparse) have no variable: the
// addon's Function passes them as flags. finish converts and validates.
func restoreFlags(fs *flag.FlagSet, getenv func(string) string) (*executor.RunOptions, *string, func() error) {
	o := &executor.RunOptions{}
	var include, exclude, mounts, bandwidth string
	kubeconfig := new(string)
	fs.StringVar(&o.Namespace, "namespace", getenv(invocation.EnvNamespace), "RestoreSession namespace (env "+invocation.EnvNamespace+")")
	fs.StringVar(&o.RestoreSession, "restoresession", getenv(invocation.EnvRestoreSession), "RestoreSession name (env "+invocation.EnvRestoreSession+")")
	fs.StringVar(&o.Component, "component", getenv(invocation.EnvComponent), "snapshot component to restore (env "+invocation.EnvComponent+")")
	fs.StringVar(&o.Snapshot, "snapshot", getenv(invocation.EnvSnapshot), "resolved Snapshot name, never latest (env "+invocation.EnvSnapshot+")")
	fs.StringVar(&o.TaskName, "task-name", getenv(invocation.EnvTaskName), "addon restore task (env "+invocation.EnvTaskName+")")
	fs.StringVar(&o.ScratchDir, "scratch-dir", orDefault(getenv(invocation.EnvScratchDir), invocation.ScratchDir), "writable dir for kopia config and caches (env "+invocation.EnvScratchDir+")")
	fs.StringVar(&o.Restore.TargetRoot, "target-root", "/", "prefix of every restore destination")
	fs.StringVar(&mounts, "target-mount-paths", getenv(invocation.EnvTargetMountPaths), "':'-separated mount paths destinations must lie in (env "+invocation.EnvTargetMountPaths+")")
	fs.StringVar(&include, invocation.ParamInclude, "", "comma-separated snapshot paths to restore (partial restore)")
	fs.StringVar(&exclude, invocation.ParamExclude, "", "comma-separated glob patterns of paths not to restore")
	fs.Func(invocation.ParamParallel, "files restored at once, a non-negative integer (default 0: engine.DefaultParallel, at least 8)", func(v string) error {
		n, err := invocation.ParseNonNegativeInt(v)
		o.Restore.Parallel = n
		return err
	})
	fs.BoolVar(&o.Restore.Resume, invocation.ParamResume, true, "skip files whose size and mtime already match (--resume=false to rewrite all)")
	fs.BoolVar(&o.Restore.DeleteExtra, "delete-extra", false, "delete target files the snapshot lacks")
	fs.BoolVar(&o.Restore.Sparse, invocation.ParamSparse, false, "write zero runs as holes")
	fs.BoolVar(&o.Restore.DryRun, "dry-run", false, "write nothing; report in the component's status what a restore would do")
	fs.BoolVar(&o.Restore.Verify, invocation.ParamVerify, false, "re-read every restored file and compare it with the snapshot")
	fs.StringVar(&bandwidth, "bandwidth-limit", "", "bytes read from the storage per second, a quantity such as 50Mi (empty or 0: unlimited)")
	fs.DurationVar(&o.Restore.ProgressInterval, "progress-interval", 5*time.Second, "minimum time between progress status updates")
	fs.StringVar(&o.LocalStorageDir, "local-storage-dir", "", "use this directory instead of a local BackupStorage's mountPath")
	fs.StringVar(kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")

	finish := func() error {
		var err error
		o.Restore.TargetMountPaths = invocation.SplitList(mounts, ":")
		o.Restore.Include = invocation.SplitList(include, ",")
		o.Restore.Exclude = invocation.SplitList(exclude, ",")
		if o.Restore.BandwidthLimit, err = invocation.ParseBandwidthLimit(bandwidth); err != nil {
			return fmt.Errorf("--bandwidth-limit: %w", err)
		}
		if o.Restore.ProgressInterval <= 0 {
			return fmt.Errorf("--progress-interval %v: want a positive duration", o.Restore.ProgressInterval)
		}
		o.Priority, err = executor.PriorityFromEnv(getenv)
		return err
	}
	return o, kubeconfig, finish
}

// parseBandwidth reads --bandwidth-limit, a Kubernetes quantity of bytes
// per second ("50Mi", "1G", "1048576"); empty is 0, unlimited.
func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading Kubernetes client config: %w", err)
	}
	cfg.UserAgent = "restore-executor"
	return cfg, nil
}

func clientsFor(cfg *rest.Config) (executor.Clients, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return executor.Clients{}, err
	}
	rc, err := versioned.NewForConfig(cfg)
	if err != nil {
		return executor.Clients{}, err
	}
	return executor.Clients{Kube: kc, Restore: rc}, nil
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
}

// parseRestoreFlags parses the flags and environment of a restore
// subcommand (restore, restore-manifests: they share them) and loads the
// client config. extra binds a subcommand's own flags.
func parseRestoreFlags(ctx context.Context, subcommand string, args []string, getenv func(string) string, extra ...func(*flag.FlagSet)) (*executor.RunOptions, *rest.Config, error) {
	fs := newFlagSet(subcommand)
	o, kubeconfig, finish := restoreFlags(fs, getenv)
	for _, bind := range extra {
		bind(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := finish(); err != nil {
		return nil, nil, err
	}
	klog.FromContext(ctx).Info("Starting "+subcommand, "version", version.Get(), "restoreSession", klog.KRef(o.Namespace, o.RestoreSession), "component", o.Component)
	cfg, err := restConfig(*kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	return o, cfg, nil
}

func runRestore(ctx context.Context, args []string, getenv func(string) string) error {
	o, cfg, err := parseRestoreFlags(ctx, "restore", args, getenv)
	if err != nil {
		return err
	}
	c, err := clientsFor(cfg)
	if err != nil {
		return err
	}
	return executor.RunRestore(ctx, c, *o)
}

// groupedFlag collects a repeated NAME=VALUE flag: parse splits one
// occurrence, and the values are grouped by NAME in the order the names
// first appear; group makes a G of each name and its values.
type groupedFlag[V, G any] struct {
	parse  func(string) (name string, v V, err error)
	group  func(name string, values []V) G
	names  []string
	values [][]V // values[i] are those of names[i]
}

func (f *groupedFlag[V, G]) String() string { return "" }

func (f *groupedFlag[V, G]) Set(s string) error {
	name, v, err := f.parse(s)
	if err != nil {
		return err
	}
	for i := range f.names {
		if f.names[i] == name {
			f.values[i] = append(f.values[i], v)
			return nil
		}
	}
	f.names = append(f.names, name)
	f.values = append(f.values, []V{v})
	return nil
}

// groups returns the groups in order, nil when the flag was not given.
func (f *groupedFlag[V, G]) groups() []G {
	var out []G
	for i, name := range f.names {
		out = append(out, f.group(name, f.values[i]))
	}
	return out
}

// componentFlag collects repeated --component NAME=DIR[:HOSTPATH].
func componentFlag() *groupedFlag[engine.SnapshotSource, executor.ComponentSources] {
	return &groupedFlag[engine.SnapshotSource, executor.ComponentSources]{
		parse: executor.ParseComponentFlag,
		group: func(name string, srcs []engine.SnapshotSource) executor.ComponentSources {
			return executor.ComponentSources{Name: name, Sources: srcs}
		},
	}
}

func runSnapshot(ctx context.Context, args []string, getenv func(string) string) error {
	if len(args) > 0 && args[0] == adoptCmd {
		return runAdopt(ctx, args[1:], getenv)
	}
	fs := newFlagSet("snapshot")
	var o executor.SnapshotObjectOptions
	comps := componentFlag()
	fs.StringVar(&o.Namespace, "namespace", getenv(invocation.EnvNamespace), "namespace of the Repository and the Snapshot")
	fs.StringVar(&o.Repository, "repository", "", "Repository name")
	fs.StringVar(&o.Name, "name", "", "Snapshot name to create or update")
	fs.Var(comps, "component", "NAME=DIR[:HOSTPATH], repeatable; HOSTPATH (default DIR) is where a restore puts the data")
	fs.StringVar(&o.LocalStorageDir, "local-storage-dir", "", "use this directory instead of a local BackupStorage's mountPath")
	fs.StringVar(&o.ScratchDir, "scratch-dir", orDefault(getenv(invocation.EnvScratchDir), ""), "writable dir for kopia config and caches (default: temp dir)")
	manifests := manifestsFlag()
	fs.Var(manifests, "manifests", "COMPONENT=NAMESPACE/RESOURCE[.GROUP][/NAME], repeatable: dump that object (all of the resource in NAMESPACE without NAME) from the API into a manifest component")
	clusterDump := clusterDumpFlags(fs)
	kubeconfig := fs.String("kubeconfig", getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dump, err := clusterDump()
	if err != nil {
		return err
	}
	if len(comps.names) == 0 && len(manifests.names) == 0 && dump == nil {
		return errors.New("at least one --component, --manifests or --cluster-manifests is required")
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
	if len(manifests.names) > 0 {
		dumped, cleanup, err := dumpManifests(ctx, cfg, manifests.groups(), o.ScratchDir)
		if err != nil {
			return err
		}
		defer cleanup()
		for _, d := range dumped {
			for _, comp := range o.Components {
				if comp.Name == d.Name {
					return fmt.Errorf("component %q is given both as --component and as --manifests", d.Name)
				}
			}
		}
		o.Components = append(o.Components, dumped...)
	}
	if dump != nil {
		src, cleanup, err := dumpCluster(ctx, cfg, *dump, o.ScratchDir)
		if err != nil {
			return err
		}
		defer cleanup()
		for _, comp := range o.Components {
			if comp.Name == src.Name {
				return fmt.Errorf("component %q is given twice (--cluster-manifests and --component or --manifests)", src.Name)
			}
		}
		o.Components = append(o.Components, src)
	}
	snap, err := executor.CreateSnapshotObject(ctx, c, o)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Snapshot recorded", "snapshot", klog.KObj(snap), "components", len(snap.Status.Components))
	return nil
}

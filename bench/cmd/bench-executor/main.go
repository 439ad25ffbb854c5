// Command bench-executor is the executor leg of the restore benchmark: it
// restores one kopia snapshot from a filesystem repository with
// pkg/engine, the restore engine the Job's executor runs (minus
// pkg/executor's Kubernetes side: reading the objects, status patches), so
// restorebench can measure it as a child process like the other tools.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/restore-controller/restore/pkg/engine"
)

func main() {
	var (
		repoPath = flag.String("repo", "", "kopia filesystem repository")
		password = flag.String("password", "", "repository password")
		snapID   = flag.String("snapshot", "", "kopia snapshot manifest ID")
		target   = flag.String("target", "", "directory to restore into")
		scratch  = flag.String("scratch", "", "scratch directory for the kopia config and cache")
		parallel = flag.Int("parallel", 0, "files restored at once (0: the executor's default)")
		cpuProf  = flag.String("cpuprofile", os.Getenv("BENCH_CPUPROFILE"), "write a CPU profile here (env BENCH_CPUPROFILE)")
		memProf  = flag.String("memprofile", os.Getenv("BENCH_MEMPROFILE"), "write a heap profile here at the end (env BENCH_MEMPROFILE)")
	)
	flag.Parse()
	if *repoPath == "" || *password == "" || *snapID == "" || *target == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	// As the executor's main does: fit the runtime to the cgroup.
	engine.ConfigureRuntime(ctx)
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-executor:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench-executor:", err)
			os.Exit(1)
		}
		defer f.Close()
	}
	start := time.Now()
	res, err := engine.Restore(ctx, engine.RestoreOptions{
		Repository: engine.RepositoryOptions{
			Storage:    engine.StorageConfig{Local: &engine.LocalStorage{Path: *repoPath}},
			Password:   *password,
			ScratchDir: *scratch,
		},
		// The snapshot's root lands in TargetRoot/HostPath.
		Entries:    []engine.SnapshotEntry{{SnapshotID: *snapID, HostPath: "/"}},
		TargetRoot: *target,
		Parallel:   *parallel,
	})
	pprof.StopCPUProfile()
	if *memProf != "" {
		if f, ferr := os.Create(*memProf); ferr == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-executor:", err)
		os.Exit(1)
	}
	fmt.Printf("restored %d files, %d bytes in %s\n", res.RestoredFiles, res.RestoredBytes, time.Since(start).Round(time.Millisecond))
}

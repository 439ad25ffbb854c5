// Package executor tests the restore executor against real peers: snapshots
// written by the kopia CLI v0.21.1 (filesystem and, through versitygw, S3
// repositories) restore byte for byte through pkg/engine, and the
// restore-executor binary runs as a Job on the local cluster, restores into
// a PVC and reports its component's progress in the RestoreSession.
//
// The peers come from `make tools` (RESTORE_TOOLS_DIR, default
// <repo>/_output/tools). The cluster starts only for the tests that need it.
package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

var (
	repoRoot string

	clusterOnce sync.Once
	clusterErr  error
	c           *cluster.Cluster

	buildOnce   sync.Once
	buildErr    error
	executorBin string
	binDir      string
)

// executorImage is the image name mapped to the freshly built executor.
const executorImage = "ghcr.io/restore-controller/restore-executor:dev"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Join(wd, "..", "..")
	if binDir, err = os.MkdirTemp("", "executor-test-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)

	code := m.Run()
	if c != nil {
		if code != 0 {
			c.Keep()
			c.DumpLogs(os.Stderr, 30)
		}
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping local cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// needExecutorBinary builds cmd/restore-executor once per test binary.
func needExecutorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		executorBin, buildErr = framework.BuildBinary(binDir, "github.com/restore-controller/restore/cmd/restore-executor")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return executorBin
}

// needCluster starts the local cluster once, with the executor image mapped
// to the built binary and the project's CRDs installed. TestMain stops it.
func needCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	bin := needExecutorBinary(t)
	clusterOnce.Do(func() {
		ctx := context.Background()
		cl, err := cluster.Start(ctx, cluster.Options{ImageBinaries: map[string]string{executorImage: bin}})
		if err != nil {
			clusterErr = fmt.Errorf("starting local cluster: %w", err)
			return
		}
		c = cl
		fmt.Printf("local cluster started in %s (dir %s)\n", cl.StartupTime().Round(1e6), cl.Dir())
		if err := framework.InstallCRDs(ctx, cl.Config(), filepath.Join(repoRoot, "artifacts", "crds")); err != nil {
			clusterErr = fmt.Errorf("installing CRDs: %w", err)
		}
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return c
}

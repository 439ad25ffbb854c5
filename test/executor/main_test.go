// Package executor tests the restore executor against real peers: snapshots
// written by the kopia CLI v0.21.1 (filesystem and, through versitygw, S3
// repositories) restore byte for byte through pkg/engine, so do snapshots
// the engine writes to GCS (fake-gcs-server) and Azure (Azurite), and the
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
	"testing"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

var (
	// c is the local cluster once a test needed it (needCluster).
	c            *cluster.Cluster
	clusterSetup framework.Once[*cluster.Cluster]

	executorBuild framework.Once[string]
	binDir        string
)

// executorImage is the image name mapped to the freshly built executor.
const executorImage = "ghcr.io/restore-controller/restore-executor:dev"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if binDir, err = os.MkdirTemp("", "executor-test-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)

	code := m.Run()
	if c != nil {
		code = c.Finish(code)
	}
	return code
}

// needExecutorBinary builds cmd/restore-executor once per test binary.
func needExecutorBinary(t *testing.T) string {
	t.Helper()
	return executorBuild.Do(t, "building the executor", func() (string, error) {
		return framework.BuildBinary(binDir, "github.com/restore-controller/restore/cmd/restore-executor")
	})
}

// needCluster starts the local cluster once, with the executor image mapped
// to the built binary and the project's CRDs installed. TestMain stops it.
func needCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	bin := needExecutorBinary(t)
	return clusterSetup.Do(t, "starting local cluster", func() (*cluster.Cluster, error) {
		cl, err := cluster.Start(context.Background(), cluster.Options{
			ImageBinaries: map[string]string{executorImage: bin},
			Setup: func(ctx context.Context, cl *cluster.Cluster) error {
				return framework.InstallProjectCRDs(ctx, cl.Config())
			},
		})
		if err != nil {
			return nil, err
		}
		c = cl
		fmt.Printf("local cluster started in %s (dir %s)\n", cl.StartupTime().Round(1e6), cl.Dir())
		return cl, nil
	})
}

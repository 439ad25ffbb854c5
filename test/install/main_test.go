// Package install tests the product the way a user gets it: the images
// mapped to freshly built binaries, `kubectl apply -k artifacts/` on the
// local cluster, the controller running as the installed Deployment with
// in-cluster config and its RBAC, and restores requested with nothing but
// kubectl-applied YAML (namespaces, Secrets, BackupStorages, Repositories,
// workloads, RestoreSessions) and Snapshots made with `restore-executor
// snapshot`. The generated clientset only reads status.
package install

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

// The images artifacts/ installs; the process kubelet runs the binaries
// TestMain builds for them.
const (
	controllerImage = "ghcr.io/restore-controller/restore-controller:v0.1.0"
	executorImage   = "ghcr.io/restore-controller/restore-executor:v0.1.0"
)

var (
	c *cluster.Cluster
	// executorBin runs `restore-executor snapshot` from the test, as a
	// user seeding a Repository would.
	executorBin string
	repoRoot    string
	// restoreClient is a client of the generated clientset on c, used
	// only to read status.
	restoreClient versioned.Interface
)

// restoreTimeout bounds a restore of the suite's small trees, Job start-up
// included.
const restoreTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if repoRoot, err = cluster.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir, err := os.MkdirTemp("", "install-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	images, err := framework.BuildImageBinaries(binDir, map[string]string{
		controllerImage: "github.com/restore-controller/restore/cmd/restore-controller",
		executorImage:   "github.com/restore-controller/restore/cmd/restore-executor",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	executorBin = images[executorImage]
	// kubectl finds the plugin on PATH, as a user's would.
	if _, err := framework.BuildBinary(binDir, "github.com/restore-controller/restore/cmd/kubectl-restore"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	setup := func(_ context.Context, cl *cluster.Cluster) (err error) {
		restoreClient, err = versioned.NewForConfig(cl.Config())
		return err
	}
	return cluster.TestMain(m, cluster.Options{ImageBinaries: images, Setup: setup}, &c)
}

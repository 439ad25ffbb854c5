// Package e2e tests on the local cluster (the real control plane with the
// process kubelet): the cluster itself — Jobs, StatefulSets, garbage
// collection, RBAC for service accounts — and the RestoreSession controller
// running in-process against it.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

// workloadImage is mapped to the testworkload binary built by TestMain.
const workloadImage = "example.com/testworkload:v1"

var (
	c *cluster.Cluster
	// restoreClient is a client of the project's API on c, whose CRDs and
	// the controller's RBAC TestMain installs with the cluster
	// (installRestoreAPI).
	restoreClient versioned.Interface
)

// executorBin is cmd/restore-executor as built by TestMain (the binary
// kopiaImage is mapped to), for tests that run it on the host as a user
// would.
var executorBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binDir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	images, err := framework.BuildImageBinaries(binDir, map[string]string{
		workloadImage: "github.com/restore-controller/restore/test/cmd/testworkload",
		executorImage: "github.com/restore-controller/restore/test/cmd/fakeexecutor",
		kopiaImage:    "github.com/restore-controller/restore/cmd/restore-executor",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	executorBin = images[kopiaImage]
	return cluster.TestMain(m, cluster.Options{ImageBinaries: images, Setup: installRestoreAPI}, &c)
}

// installRestoreAPI installs the project's CRDs and the controller's RBAC
// manifest on the new cluster and makes restoreClient.
func installRestoreAPI(ctx context.Context, cl *cluster.Cluster) error {
	if err := framework.InstallProjectCRDs(ctx, cl.Config()); err != nil {
		return err
	}
	if err := framework.InstallControllerRBAC(ctx, cl.Config()); err != nil {
		return err
	}
	var err error
	restoreClient, err = versioned.NewForConfig(cl.Config())
	return err
}

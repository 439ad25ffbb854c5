// Package install tests the product the way a user gets it: the images
// mapped to freshly built binaries, `kubectl apply -k artifacts/` on the
// local cluster, the controller running as the installed Deployment with
// in-cluster config and its RBAC, and restores requested with nothing but
// kubectl-applied YAML (namespaces, Secrets, BackupStorages, Repositories,
// workloads, RestoreSessions) and Snapshots made with `restore-executor
// snapshot`. The generated clientset only reads status.
package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/restore-controller/restore/test/cluster"
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
)

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
	images := map[string]string{}
	for image, name := range map[string]string{controllerImage: "restore-controller", executorImage: "restore-executor"} {
		bin := filepath.Join(binDir, name)
		build := exec.Command("go", "build", "-o", bin, "github.com/restore-controller/restore/cmd/"+name)
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building cmd/%s: %v\n", name, err)
			return 1
		}
		images[image] = bin
	}
	executorBin = images[executorImage]
	return cluster.TestMain(m, cluster.Options{ImageBinaries: images}, &c)
}

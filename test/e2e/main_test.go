// Package e2e tests the local cluster itself: the real control plane with
// the process kubelet, driving Jobs, StatefulSets, garbage collection and
// RBAC for service accounts end to end.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/restore-controller/restore/test/cluster"
)

// workloadImage is mapped to the testworkload binary built by TestMain.
const workloadImage = "example.com/testworkload:v1"

var c *cluster.Cluster

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
	bin := filepath.Join(binDir, "testworkload")
	build := exec.Command("go", "build", "-o", bin, "github.com/restore-controller/restore/test/cmd/testworkload")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building testworkload: %v\n", err)
		return 1
	}
	return cluster.TestMain(m, cluster.Options{ImageBinaries: map[string]string{workloadImage: bin}}, &c)
}

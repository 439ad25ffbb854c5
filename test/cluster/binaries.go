package cluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// Binaries of the control plane, built by hack/build-cluster-binaries.sh.
var componentBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// RepoRoot finds the repository root: the nearest directory at or above the
// working directory that holds hack/build-cluster-binaries.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "build-cluster-binaries.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (with hack/build-cluster-binaries.sh) not found above the working directory")
		}
		dir = parent
	}
}

// BinDir returns the directory holding the control plane binaries: $CLUSTER_BIN_DIR,
// or <repo>/_output/cluster-bin. It fails, saying how to build them, when one
// is missing.
func BinDir() (string, error) {
	dir := os.Getenv("CLUSTER_BIN_DIR")
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w; set CLUSTER_BIN_DIR", err)
		}
		dir = filepath.Join(root, "_output", "cluster-bin")
	}
	for _, b := range componentBinaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("control plane binary %s missing in %s: run hack/build-cluster-binaries.sh "+
				"(about 10 minutes the first time, cached afterwards) or point CLUSTER_BIN_DIR at a directory holding %v",
				b, dir, componentBinaries)
		}
	}
	return dir, nil
}

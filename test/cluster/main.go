package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain starts one cluster for a test package and stops it after the
// tests:
//
//	var c *cluster.Cluster
//	func TestMain(m *testing.M) { os.Exit(cluster.TestMain(m, cluster.Options{}, &c)) }
//
// It prints the start-up time. When a test failed, or KEEP_CLUSTER=1, the
// cluster directory (component logs, container logs, volumes) is kept and
// its path printed, and the tail of the control plane logs is printed.
func TestMain(m *testing.M, opts Options, c **Cluster) int {
	ctx := context.Background()
	cl, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting local cluster: %v\n", err)
		return 1
	}
	fmt.Printf("local cluster started in %s (dir %s)\n", cl.StartupTime().Round(1e6), cl.Dir())
	*c = cl
	code := m.Run()
	if code != 0 {
		cl.Keep()
		cl.DumpLogs(os.Stderr, 30)
	}
	if err := cl.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping local cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func unmount(path string) error { return unix.Unmount(path, unix.MNT_DETACH) }

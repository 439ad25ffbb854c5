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
	return cl.Finish(m.Run())
}

// Finish ends a test binary's use of the cluster once its tests exited
// with code: after a failure (code != 0) it keeps the cluster directory and
// prints the tail of the control plane logs; then it stops the cluster. It
// returns the code to exit with, 1 if the tests passed but stopping failed.
func (c *Cluster) Finish(code int) int {
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
	return code
}

func unmount(path string) error { return unix.Unmount(path, unix.MNT_DETACH) }

// Package faults is the fault-injection suite of issue 18: restores on the
// local cluster while the controller is SIGKILLed, executors are killed
// mid-file, kube-apiserver and the S3 server are stopped for a while, the
// repository is corrupted, credentials are wrong, the target fills up, the
// deadline passes or the RestoreSession is deleted. Each case asserts on
// the RestoreSession's status and on the restored bytes, and prints one
// summary line (`case N name: PASS|FAIL figures`); the suite ends with a
// line of totals.
//
// One cluster and one controller serve every case. The controller runs as
// its binary (cmd/restore-controller) under a supervisor that restarts it
// whenever it exits, as a Deployment would, so case 1 can SIGKILL it.
// Cases that disturb what every restore depends on (the controller, the
// API server) run alone; the others run in parallel.
package faults

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

// executorImage is mapped to the real cmd/restore-executor.
const executorImage = "example.com/restore-executor:faults"

var (
	c             *cluster.Cluster
	restoreClient versioned.Interface
	// executorBin is cmd/restore-executor, also run on the host to seed
	// snapshots.
	executorBin string
	// ctrl is the supervised controller binary every case restores with.
	ctrl *supervisedController
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	begin := time.Now()
	binDir, err := os.MkdirTemp("", "faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	images, err := framework.BuildImageBinaries(binDir, map[string]string{
		executorImage: "github.com/restore-controller/restore/cmd/restore-executor",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	executorBin = images[executorImage]
	controllerBin, err := framework.BuildBinary(binDir, "github.com/restore-controller/restore/cmd/restore-controller")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	c, err = cluster.Start(ctx, cluster.Options{ImageBinaries: images})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting local cluster: %v\n", err)
		return 1
	}
	fmt.Printf("local cluster started in %s (dir %s)\n", c.StartupTime().Round(time.Millisecond), c.Dir())
	code := func() int {
		if err := framework.InstallProjectCRDs(ctx, c.Config()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := framework.InstallControllerRBAC(ctx, c.Config()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if restoreClient, err = versioned.NewForConfig(c.Config()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctrl, err = startSupervisedController(ctx, controllerBin, c.Dir())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		ctrl.stop()
		if code != 0 {
			fmt.Fprintf(os.Stderr, "controller logs: %s\n", ctrl.logDir)
		}
		return code
	}()
	summary.print(os.Stdout, time.Since(begin))
	return c.Finish(code)
}

// Command restore-executor runs in restore Jobs: "restore" restores one
// component of a RestoreSession with kopia and reports it in the
// RestoreSession's status; "restore-manifests" restores a component of
// object manifests into spec.manifestOptions.restoreNamespace (with
// --kubedump: cluster resources where they came from, the kubedump-addon)
// and reports it the same way; "restore-volumesnapshot" creates PVCs from
// the VolumeSnapshots of a VolumeSnapshotter component and reports it so
// too; "snapshot" snapshots directories, and object manifests dumped from
// the API, into a Repository and records a Snapshot object (tests, demos,
// migrations); "snapshot adopt" records kopia snapshots that already are
// in a Repository's kopia repository (made by the kopia CLI or Velero) as
// a Snapshot object.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/pkg/invocation"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	engine.ConfigureRuntime(ctx)
	code := run(ctx, os.Args[1:], os.Getenv)
	stop()
	klog.Flush()
	os.Exit(code)
}

// run executes a subcommand and returns the process exit code: 0 on
// success (and for -h), 2 for a missing or unknown subcommand. A failed
// restore (restore, restore-manifests, restore-volumesnapshot) exits with
// invocation.ExitCodePermanentFailure unless a retry can get past its
// error (executor.Retryable), then ExitCodeRetryableFailure;
// invalid flags or RESTORE_* values are permanent: every retry of the Job
// would get the same ones. A failed snapshot exits with 1. Whatever the
// failure, its message goes to the container's termination message
// (invocation.EnvTerminationMessagePath), where the controller finds it
// when the executor could not write it into the RestoreSession's status.
func run(ctx context.Context, args []string, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "restore":
		err = runRestore(ctx, args[1:], getenv)
	case "restore-manifests":
		err = runRestoreManifests(ctx, args[1:], getenv)
	case restoreVolumeSnapshotCmd:
		err = runRestoreVolumeSnapshot(ctx, args[1:], getenv)
	case "snapshot":
		err = runSnapshot(ctx, args[1:], getenv)
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n%s\n", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // the flag set printed its usage
	}
	if err != nil {
		klog.ErrorS(err, "restore-executor failed", "subcommand", args[0])
		writeTerminationMessage(getenv(invocation.EnvTerminationMessagePath), err)
		if restoreSubcommand(args[0]) && !executor.Retryable(err) {
			return invocation.ExitCodePermanentFailure
		}
		return invocation.ExitCodeRetryableFailure
	}
	return 0
}

const usage = `usage: restore-executor restore [flags]            restore one RestoreSession component
       restore-executor restore-manifests [flags]  restore a component of object manifests
       restore-executor restore-volumesnapshot [flags]  create a component's PVCs from its VolumeSnapshots
       restore-executor snapshot [flags]           snapshot directories and manifests into a Repository
       restore-executor snapshot adopt [flags]     record kopia snapshots already in a Repository (kopia CLI, Velero) as a Snapshot
Run a subcommand with -h for its flags.`

const restoreVolumeSnapshotCmd = "restore-volumesnapshot"

// restoreSubcommand reports whether cmd restores a RestoreSession
// component: its failures are permanent unless executor.Retryable.
func restoreSubcommand(cmd string) bool {
	return cmd == "restore" || cmd == "restore-manifests" || cmd == restoreVolumeSnapshotCmd
}

// writeTerminationMessage writes why the executor failed to path, the
// container's termination message file; nothing when path is empty. The
// message is cut to what the kubelet keeps, on a UTF-8 boundary. Failing
// to write it changes nothing about the exit: it is logged.
func writeTerminationMessage(path string, failure error) {
	if path == "" {
		return
	}
	msg := strings.ToValidUTF8(failure.Error(), "?")
	if len(msg) > invocation.TerminationMessageLimit {
		cut := invocation.TerminationMessageLimit
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		klog.ErrorS(err, "Writing the termination message", "path", path)
	}
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/restore-controller/restore/pkg/engine"
)

// RunOptions are the restore subcommand's inputs (flags defaulting to the
// invocation.Env* variables).
type RunOptions struct {
	Namespace      string
	RestoreSession string
	Component      string
	Snapshot       string
	TaskName       string
	ScratchDir     string
	// Restore holds how to restore: target, include/exclude, parallelism,
	// resume, delete-extra, sparse, progress interval. RunRestore fills in
	// its Repository, Entries and Progress from the API.
	Restore engine.RestoreOptions
	// LocalStorageDir replaces a local BackupStorage's mountPath.
	LocalStorageDir string
	Priority        Priority
}

// finalStatusTimeout bounds the last status write, which runs even when
// ctx was cancelled (SIGTERM) so a Failed phase is always recorded.
const finalStatusTimeout = 30 * time.Second

// RunRestore restores one component of a RestoreSession and reports it in
// status.components[Component]: Running with throttled progress, then
// Succeeded or Failed with duration and error. An error a retried Job may
// get past (see Retryable) leaves the component Running with the error
// instead. It returns the restore's error (the status write's if only that
// failed).
func RunRestore(ctx context.Context, c Clients, o RunOptions) error {
	if o.Restore.ProgressInterval <= 0 {
		o.Restore.ProgressInterval = 5 * time.Second
	}
	return runReported(ctx, c, o, func(ctx context.Context, in *RestoreInputs, sw *StatusWriter) (*engine.Progress, error) {
		logger := klog.FromContext(ctx)
		logger.Info("Restoring component", "task", o.TaskName, "storage", in.Config.String(), "entries", len(in.Entries))

		// Progress reports come from restore workers: hand them to one goroutine
		// so API latency never stalls the restore, and keep only the newest.
		progressCh := make(chan engine.Progress, 1)
		statusDone := make(chan struct{})
		go func() {
			defer close(statusDone)
			for p := range progressCh {
				if err := sw.Running(ctx, &p); err != nil {
					logger.Error(err, "Reporting progress")
				}
			}
		}()
		opts := o.Restore
		opts.Repository = engine.RepositoryOptions{Storage: in.Config, Password: in.Password, ScratchDir: o.ScratchDir}
		opts.Entries = in.Entries
		opts.Progress = func(p engine.Progress) {
			select {
			case <-progressCh: // drop the stale one
			default:
			}
			progressCh <- p
		}
		res, err := engine.Restore(ctx, opts)
		close(progressCh)
		<-statusDone
		sw.Plan, sw.Verification = res.Plan, res.Verification
		if opts.DryRun {
			logger.Info("Planned the restore, wrote nothing", "plan", res.Plan)
			return nil, err // nothing was restored: no progress to report
		}
		// The final status carries the last progress, if any was made.
		if res.TotalBytes > 0 || res.TotalFiles > 0 {
			return &res.Progress, err
		}
		return nil, err
	})
}

// finalStatusBackoff paces the attempts of the final status write while
// the API server cannot be reached.
var finalStatusBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Cap: 4 * time.Second, Steps: math.MaxInt32}

// retryWhileUnreachable runs write until it succeeds, fails for a reason a
// retry cannot fix, or ctx ends. The final status of a restore that
// finished while the API server was down (restarting, unreachable for a
// few seconds) is then written once it is back, instead of failing the
// pod and restoring again in a retried one. When retryDenied, Forbidden
// and Unauthorized are retried too: a kube-apiserver that has just started
// serves requests before its authorizer has read every Role ("role ... not
// found"). A pod being stopped (SIGTERM) passes false: its RestoreSession
// may have been deleted with its Role, and waiting out the bound would
// keep the deleted restore's pod alive.
func retryWhileUnreachable(ctx context.Context, retryDenied bool, write func() error) error {
	backoff := finalStatusBackoff
	for {
		err := write()
		denied := apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
		if err == nil || ctx.Err() != nil || !Retryable(err) && !(retryDenied && denied) {
			return err
		}
		klog.FromContext(ctx).Error(err, "Writing the final status; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff.Step()):
		}
	}
}

// restoreBody is the part of a reported restore that differs by kind: it
// restores from the resolved inputs and returns the progress to report in
// the final status (nil for none) and the restore's error. ctx carries the
// logger with the restore's identity; sw may report Running progress.
type restoreBody func(ctx context.Context, in *RestoreInputs, sw *StatusWriter) (*engine.Progress, error)

// runReported is the reporting scaffold of RunRestore and
// RunManifestRestore. After validating o's identity it always ends with a
// final status in status.components[o.Component]: Running with the error
// when Retryable(err), else Succeeded or Failed with the duration, either
// with the progress body returned. Before that it applies o.Priority,
// reports Running, resolves the restore's inputs and runs body. It
// returns the restore's error, which decides the exit code; a failed final
// status write is returned only when the restore itself succeeded.
func runReported(ctx context.Context, c Clients, o RunOptions, body restoreBody) error {
	return reportComponent(ctx, c, o, func(ctx context.Context, sw *StatusWriter) (*engine.Progress, error) {
		in, err := ResolveRestoreInputs(ctx, c, o.Namespace, o.RestoreSession, o.Component, o.Snapshot, o.LocalStorageDir)
		if err != nil {
			return nil, err
		}
		progress, err := body(ctx, in, sw)
		if errors.Is(err, engine.ErrInvalidPassword) {
			err = fmt.Errorf("%w; the password is %s", err, in.PasswordSource)
		}
		return progress, err
	})
}

// reportComponent is the scaffold of runReported without the kopia
// inputs, for restores that read no repository (volume snapshots): body
// resolves what it needs itself.
func reportComponent(ctx context.Context, c Clients, o RunOptions, body func(ctx context.Context, sw *StatusWriter) (*engine.Progress, error)) (err error) {
	logger := klog.FromContext(ctx).WithValues("restoreSession", o.Namespace+"/"+o.RestoreSession, "component", o.Component, "snapshot", o.Snapshot)
	ctx = klog.NewContext(ctx, logger)
	if o.Namespace == "" || o.RestoreSession == "" || o.Component == "" {
		return errors.New("namespace, restoresession and component are required")
	}
	sw := &StatusWriter{Client: c.Restore, Namespace: o.Namespace, Name: o.RestoreSession, Component: o.Component}
	start := time.Now()

	var last *engine.Progress
	defer func() {
		// The final status is written even after SIGTERM cancelled ctx.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
		defer cancel()
		report := func() error { return sw.Finished(fctx, time.Since(start), last, err) }
		if Retryable(err) {
			report = func() error { return sw.Retrying(fctx, last, err) }
		}
		// ctx is cancelled only when the pod is being stopped.
		serr := retryWhileUnreachable(fctx, ctx.Err() == nil, report)
		if serr != nil {
			logger.Error(serr, "Writing the final status")
		}
		if err == nil {
			err = serr
		}
		if err != nil {
			logger.Error(err, "Restore failed", "duration", time.Since(start))
		} else {
			logger.Info("Restore succeeded", "duration", time.Since(start))
		}
	}()

	// Lower our priority before any data is read.
	if err := o.Priority.Apply(); err != nil {
		return fmt.Errorf("applying containerRuntimeSettings priority: %w", err)
	}
	if err := sw.Running(ctx, nil); err != nil {
		return err
	}
	last, err = body(ctx, sw)
	return err
}

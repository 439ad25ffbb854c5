// Package executor is the Kubernetes side of a restore Job: it resolves a
// RestoreSession's component into the plain options of the restore engine
// (pkg/engine, which holds the kopia code and knows nothing of Kubernetes),
// runs it, and reports the result in the RestoreSession's status. It is the
// library behind cmd/restore-executor.
//
// RunRestore restores one component of a RestoreSession. It reads the
// RestoreSession, the Snapshot, the Repository, its BackupStorage and the
// Secrets through pkg/refs (ResolveRestoreInputs; GETs of named objects
// only, as the Job's Role is restricted by resourceNames), lowers its own
// CPU and I/O priority (Priority, PriorityFromEnv: containerRuntimeSettings
// nice and ionice from the invocation.EnvNice* variables, applied to every
// thread before any data is read), calls engine.Restore, and
// server-side-applies status.components[Component] of the RestoreSession
// with the component's own field manager (StatusWriter), so concurrent
// executors of different components and the controller never overwrite
// each other's fields.
//
// RunManifestRestore does the same for a manifest component: the engine
// restores the component's files into a private scratch directory, and the
// objects they hold are created in the restore namespace with the dynamic
// client (pkg/manifest plans and applies them). DumpManifestComponents is
// its snapshot side. RunClusterManifestRestore restores a component in
// the resource tree layout where its objects came from (the
// kubedump-addon), reporting its counts in the component's error when
// objects failed and in an Event; DumpClusterComponent is its snapshot
// side.
//
// CreateSnapshotObject snapshots directories into a Repository object's
// kopia repository (engine.CreateSnapshots) and records a Snapshot object
// (tests, demos, migrations).
//
// # Errors and exit codes
//
// Errors wrap a sentinel callers match with errors.Is, and whose text is
// what users read in the component's status: the engine's (engine.Err*:
// wrong password, missing snapshot, unreachable storage, corruption, full
// target, unsafe snapshot) and this package's ErrMissingSecret and
// ErrMissingSecretKey.
//
// Retryable tells the two kinds of failure apart. A retryable error (the
// storage or the API server unreachable or overloaded, the pod stopped)
// leaves the component Running with an "attempt failed" error
// (StatusWriter.Retrying), and cmd/restore-executor exits with
// invocation.ExitCodeRetryableFailure (1): the Job retries, and the retry
// resumes. Any other error (a wrong password, a missing snapshot or Secret,
// credentials the storage refuses, a missing bucket or container, corruption, an unsafe snapshot, a full target, invalid flags) ends the
// component Failed (StatusWriter.Finished) and the executor exits with
// invocation.ExitCodePermanentFailure (3), on which the controller's
// podFailurePolicy fails the Job at once.
package executor

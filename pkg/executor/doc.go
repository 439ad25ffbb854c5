// Package executor restores kopia snapshots into a target directory tree and
// reports the restore of one RestoreSession component in the session's
// status. It is the library behind cmd/restore-executor, built on the kopia
// v0.21.1 Go packages (no kopia binary).
//
// # Library API
//
// OpenRepository connects to a kopia repository in a StorageConfig (a
// local directory or an S3 bucket) with a password, writing kopia's config
// file and caches into a private directory under RepositoryOptions.ScratchDir
// that Repository.Close removes. Kopia's fatal-error hook, which would exit
// the process, is redirected to Repository.Fatal.
//
// Restore opens the repository in RestoreOptions.Repository read-only,
// restores RestoreOptions.Entries one after the other and closes it;
// RestoreFromRepository does the same with a repository the caller opened.
// Each SnapshotEntry (a kopia snapshot manifest ID and the hostPath the
// data came from) is restored to TargetRoot/HostPath, entirely or, with
// Include, only the listed sub-paths; Exclude drops glob patterns; Resume
// skips files whose size and mtime already match, so a retried restore
// continues where the last one stopped; DeleteExtra removes what the
// snapshot lacks; Progress receives reports, throttled to one per
// ProgressInterval plus a final one. Files, directories (their own recorded
// mtime, not kopia's newest-in-subtree) and symlinks get the snapshot's
// modes, owners (when permitted) and mtimes. Restored data is flushed with
// syncfs(2) before Restore returns success: kopia v0.21.1 does not fsync.
//
// CreateSnapshots snapshots local directories into an open repository and
// records each under the hostPath a restore puts it back to;
// CreateSnapshotObject does that for a Repository object and records a
// Snapshot object (tests, demos, migrations).
//
// RunRestore is the Kubernetes side of one restore Job: it reads the
// RestoreSession, the Snapshot, the Repository, its BackupStorage and the
// Secrets (GETs of named objects only), lowers its own CPU and I/O priority
// (Priority, PriorityFromEnv: containerRuntimeSettings nice and ionice from
// the invocation.EnvNice* variables, applied to every thread before any
// data is read), restores, and server-side-applies
// status.components[Component] of the RestoreSession with the component's
// own field manager (StatusWriter), so concurrent executors of different
// components and the controller never overwrite each other's fields.
//
// # Errors and exit codes
//
// Errors wrap a sentinel callers match with errors.Is, and whose text is
// what users read in the component's status: ErrInvalidPassword,
// ErrRepositoryNotInitialized, ErrSnapshotNotFound, ErrStorageUnreachable,
// ErrRepositoryCorruption (a failed integrity check), ErrNoSpaceLeft,
// ErrMissingSecret, ErrMissingSecretKey, and the target guards
// ErrUnsafeEntryName, ErrOutsideTarget and ErrSymlinkInPath.
//
// Retryable tells the two kinds of failure apart. A retryable error (the
// storage or the API server unreachable or overloaded, the pod stopped)
// leaves the component Running with an "attempt failed" error
// (StatusWriter.Retrying), and cmd/restore-executor exits with
// invocation.ExitCodeRetryableFailure (1): the Job retries, and the retry
// resumes. Any other error (a wrong password, a missing snapshot or Secret,
// corruption, an unsafe snapshot, a full target, invalid flags) ends the
// component Failed (StatusWriter.Finished) and the executor exits with
// invocation.ExitCodePermanentFailure (3), on which the controller's
// podFailurePolicy fails the Job at once.
//
// # Never writing outside the target
//
// A snapshot is data from the repository, which anyone with write access to
// the storage can forge. The restore keeps every write inside its
// destination:
//
//   - a hostPath (and an include path) must resolve, after cleaning "..",
//     under TargetRoot and, when TargetMountPaths is set, under one of the
//     target's volume mounts; all destinations are checked before anything
//     is written (ErrOutsideTarget);
//   - no existing directory between that mount (or the target root) and the
//     destination may be a symlink (ErrSymlinkInPath);
//   - every name in a snapshot directory must be a single path element,
//     unique in its directory (ErrUnsafeEntryName): no "..", "/", NUL or
//     duplicates;
//   - a symlink already in the target where the snapshot has a directory or
//     a file is removed, never followed; files and symlinks are only written
//     into directories the restore itself created or verified; symlinks in
//     the snapshot are restored as links, never followed.
//
// Known limit: these checks are made with lstat(2) and path names, not with
// directory file descriptors (openat2 RESOLVE_BENEATH), and kopia's
// FilesystemOutput opens paths that follow symlinks. A process writing into
// the target at the same time could replace a checked directory with a
// symlink between the check and kopia's write, and so redirect that write.
// The guarantee holds for a target no one else modifies during the restore;
// nothing else should write to a volume while it is being restored.
package executor

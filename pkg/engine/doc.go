// Package engine is the kopia restore engine: it opens a kopia repository
// in a backup storage, walks a snapshot and writes it into a target
// directory tree without ever writing outside it. It is built on the kopia
// v0.21.1 Go packages (no kopia binary) and knows nothing of Kubernetes:
// pkg/executor resolves a RestoreSession's objects into the plain options
// here and reports the result. Besides kopia it only imports klog, for
// contextual logging; TestEngineImportsNoKubernetes keeps it that way.
//
// # Storage and repositories
//
// A StorageConfig names one backend (LocalStorage: a directory;
// S3Storage, GCSStorage: a bucket and prefix; AzureStorage: an account,
// container and prefix). OpenStorage is the one constructor of kopia blob
// storage from it; each backend lives in its own file (storage_local.go,
// storage_s3.go, storage_gcs.go, storage_azure.go), and a new one is a
// field of StorageConfig, a line in StorageConfig.backends and a file of
// its own. ObjectPrefix normalises object-store prefixes as KubeStash does.
//
// OpenRepository connects to the kopia repository in a storage with a
// password, writing kopia's config file and caches into a private directory
// under RepositoryOptions.ScratchDir that Repository.Close removes. Kopia's
// fatal-error hook, which would exit the process, is redirected to
// Repository.Fatal.
//
// # Restoring
//
// Restore opens the repository in RestoreOptions.Repository read-only,
// restores RestoreOptions.Entries one after the other and closes it;
// RestoreFromRepository does the same with a repository the caller opened.
// Each SnapshotEntry (a kopia snapshot manifest ID and the hostPath the
// data came from) is restored to TargetRoot/HostPath, entirely or, with
// Include, only the listed sub-paths; Exclude drops glob patterns. Include
// and exclude paths are relative to the snapshot's root, or, written
// absolute ("/source/data/db", as KubeStash users write them), to the
// component's root that the hostPaths name (filter.go); Resume
// skips files whose size and mtime already match, so a retried restore
// continues where the last one stopped; DeleteExtra removes what the
// snapshot lacks; Progress receives reports, throttled to one per
// ProgressInterval plus a final one. Files, directories (their own recorded
// mtime, not kopia's newest-in-subtree) and symlinks get the snapshot's
// modes, owners (when permitted) and mtimes. Restored data is flushed with
// syncfs(2) before Restore returns success: kopia v0.21.1 does not fsync.
//
// # Checks: space, plan, verify, bandwidth
//
// Before the first write, every restore checks that each filesystem it
// writes to has room (space.go): when less is free than the snapshot's
// total, it walks the snapshot beside the target, counting only what
// resume would not skip and crediting the blocks of files it overwrites,
// and fails at once with ErrNoSpaceLeft, "<destination> needs X, has Y
// free". CheckOptions.DryRun runs the same walk and writes nothing: the
// Result's Plan counts the files, directories, symlinks and bytes a
// restore would write, the files it would overwrite, keep and delete, and
// the space per filesystem (plan.go). CheckOptions.Verify reads every
// restored file back and compares its kopia object ID, mode, size and
// mtime with the snapshot's (verify.go); CheckOptions.BandwidthLimit caps
// the bytes read from the storage per second (throttle.go).
//
// # Speed and memory
//
// OpenRepository derives the key once (it writes kopia's connection config
// itself instead of repo.Connect, which opens the repository a second time)
// and returns the derivation's 64 MiB before the restore starts. Kopia
// walks the tree with Parallel file workers; file contents are written by
// the engine chunk by chunk from the file's index object, several chunks at
// once, within one budget of worker tokens and chunk bytes shared by every
// file (chunked.go), so one large file keeps every CPU decrypting and
// memory stays bounded. Written data is pushed to disk as the restore goes
// (writeback.go), so the page cache it dirties stays small and the final
// syncfs short. ConfigureRuntime, called by the binaries' main, sets the Go
// memory limit and GOGC from the container's cgroup (memlimit.go).
//
// CreateSnapshots snapshots local directories into an open repository and
// records each under the hostPath a restore puts it back to (tests, demos,
// the benchmark and the executor's snapshot subcommand).
//
// # Errors
//
// Errors wrap a sentinel callers match with errors.Is, and whose text is
// what users read in a component's status: ErrInvalidPassword,
// ErrRepositoryNotInitialized, ErrSnapshotNotFound, ErrStorageUnreachable,
// ErrStorageAccessDenied and ErrBucketNotFound (the object store refused the
// credentials or has no such bucket or container), ErrRepositoryCorruption (a failed integrity check), ErrNoSpaceLeft, and
// the target guards ErrUnsafeEntryName, ErrOutsideTarget and
// ErrSymlinkInPath. Which of them a retry may get past is the caller's
// decision (executor.Retryable).
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
//     a file is removed, never followed; symlinks in the snapshot are
//     restored as links, never followed;
//   - every path inside the destination is resolved from the destination's
//     directory file descriptor with openat2(RESOLVE_BENEATH |
//     RESOLVE_NO_SYMLINKS), or one component at a time with
//     openat(O_NOFOLLOW) on kernels without openat2, and every file, link
//     and directory is created, changed or removed with *at calls relative
//     to its parent's descriptor (beneath.go, output.go). A process that
//     swaps a symlink in for a directory while the restore runs makes the
//     restore fail with ErrSymlinkInPath; it cannot redirect a write.
//
// Kopia's own FilesystemOutput resolves paths by name and follows
// symlinks, so the engine writes through its own restore.Output.
package engine

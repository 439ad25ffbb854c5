package engine

import "errors"

// Messages the engine reports. Callers and tests match on the sentinel
// errors with errors.Is; the strings are what users read in
// status.components[<name>].error.
const (
	msgInvalidPassword      = "invalid repository password"
	msgRepoNotInitialized   = "no kopia repository found in the storage"
	msgSnapshotNotFound     = "snapshot not found in the repository"
	msgUnsafeEntryName      = "unsafe entry name in snapshot"
	msgOutsideTarget        = "restore destination lies outside the allowed target"
	msgSymlinkInPath        = "refusing to restore through a symbolic link"
	msgStorageUnreachable   = "unable to reach the backup storage"
	msgNoSpaceLeftOnTarget  = "no space left on the restore target"
	msgRepositoryCorruption = "repository data is corrupt or unreadable"
)

var (
	// ErrInvalidPassword: the encryption secret's password does not open the repository.
	ErrInvalidPassword = errors.New(msgInvalidPassword)
	// ErrRepositoryNotInitialized: the storage location holds no kopia repository.
	ErrRepositoryNotInitialized = errors.New(msgRepoNotInitialized)
	// ErrSnapshotNotFound: a kopia snapshot (manifest) ID is not in the repository.
	ErrSnapshotNotFound = errors.New(msgSnapshotNotFound)
	// ErrUnsafeEntryName: a snapshot directory holds a name that could escape
	// the target ("", ".", "..", a name with '/' or NUL) or a duplicate name.
	ErrUnsafeEntryName = errors.New(msgUnsafeEntryName)
	// ErrOutsideTarget: a destination is outside the target root or the
	// target's mount paths.
	ErrOutsideTarget = errors.New(msgOutsideTarget)
	// ErrSymlinkInPath: a directory on the way to a destination is a symlink.
	ErrSymlinkInPath = errors.New(msgSymlinkInPath)
	// ErrStorageUnreachable: the blob storage cannot be reached or read.
	ErrStorageUnreachable = errors.New(msgStorageUnreachable)
	// ErrNoSpaceLeft: the target filesystem ran out of space (ENOSPC/EDQUOT).
	ErrNoSpaceLeft = errors.New(msgNoSpaceLeftOnTarget)
	// ErrRepositoryCorruption: repository data failed its integrity check.
	ErrRepositoryCorruption = errors.New(msgRepositoryCorruption)
)

package engine

import (
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/minio/minio-go/v7"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

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
	msgStorageAccessDenied  = "the backup storage refused the credentials"
	msgBucketNotFound       = "the bucket or container does not exist"
	msgNoSpaceLeftOnTarget  = "no space left on the restore target"
	msgRepositoryCorruption = "repository data is corrupt or unreadable"
	msgVerificationFailed   = "restored data differs from the snapshot"
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
	// ErrStorageAccessDenied: the object store answered that the
	// credentials are wrong or do not allow the access (HTTP 401 or 403,
	// or the token endpoint refused a service account key).
	ErrStorageAccessDenied = errors.New(msgStorageAccessDenied)
	// ErrBucketNotFound: the object store answered that the bucket or
	// container does not exist (HTTP 404 when opening the storage).
	ErrBucketNotFound = errors.New(msgBucketNotFound)
	// ErrNoSpaceLeft: the target filesystem ran out of space (ENOSPC/EDQUOT).
	ErrNoSpaceLeft = errors.New(msgNoSpaceLeftOnTarget)
	// ErrRepositoryCorruption: repository data failed its integrity check.
	ErrRepositoryCorruption = errors.New(msgRepositoryCorruption)
	// ErrVerificationFailed: a restored file, read back, differs from the
	// snapshot in content (kopia object ID), mode, size or mtime, or a
	// symlink in its target (CheckOptions.Verify).
	ErrVerificationFailed = errors.New(msgVerificationFailed)
)

// storageOpenError is the error of opening the object storage s that
// failed with err: ErrStorageAccessDenied or ErrBucketNotFound when the
// store answered so, which no retry changes, else ErrStorageUnreachable.
// Every one names s (bucket or container and prefix, no credentials).
func storageOpenError(s fmt.Stringer, err error) error {
	sentinel := ErrStorageUnreachable
	switch status := objectStoreStatus(err); {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || isTokenRefused(err):
		sentinel = ErrStorageAccessDenied
	case status == http.StatusNotFound || errors.Is(err, storage.ErrBucketNotExist):
		// Opening lists a prefix or reads a config blob that need not
		// exist; kopia turns a missing object into blob.ErrBlobNotFound,
		// so a 404 still here is the bucket's or the container's.
		sentinel = ErrBucketNotFound
	}
	return fmt.Errorf("%w %s: %w", sentinel, s, err)
}

// objectStoreStatus is the HTTP status of the object store's error
// response in err's chain (S3, GCS or Azure client), or 0.
func objectStoreStatus(err error) int {
	var s3Err minio.ErrorResponse
	var gcsErr *googleapi.Error
	var azureErr *azcore.ResponseError
	switch {
	case errors.As(err, &s3Err):
		return s3Err.StatusCode
	case errors.As(err, &gcsErr):
		return gcsErr.Code
	case errors.As(err, &azureErr):
		return azureErr.StatusCode
	}
	return 0
}

// isTokenRefused: Google's token endpoint refused to exchange the service
// account key for a token (a revoked, deleted or foreign key), which it
// answers with 400 or 401 rather than the storage's 403.
// Both of Google's auth libraries may be the one in use.
func isTokenRefused(err error) bool {
	var resp *http.Response
	var authErr *auth.Error
	var oauthErr *oauth2.RetrieveError
	switch {
	case errors.As(err, &authErr):
		resp = authErr.Response
	case errors.As(err, &oauthErr):
		resp = oauthErr.Response
	}
	return resp != nil && resp.StatusCode >= http.StatusBadRequest && resp.StatusCode < http.StatusInternalServerError &&
		resp.StatusCode != http.StatusTooManyRequests
}

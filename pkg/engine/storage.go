package engine

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/kopia/kopia/repo/blob"
)

// StorageConfig says where a kopia repository lives. Exactly one backend
// is set.
//
// A backend is a type with a file of its own (storage_<name>.go) that
// describes itself without credentials (String) and opens kopia's blob
// storage (open). Adding one means a field here, a line in backends and
// that file.
type StorageConfig struct {
	Local *LocalStorage
	S3    *S3Storage
	GCS   *GCSStorage
	Azure *AzureStorage
}

// storageBackend is one kind of storage a repository can live in.
type storageBackend interface {
	fmt.Stringer
	// open returns the blob storage. With create, what a new repository
	// needs and is missing is created (a local directory). Errors of
	// reaching the storage wrap ErrStorageUnreachable; errors of the
	// config itself do not.
	open(ctx context.Context, create bool) (blob.Storage, error)
}

// backends lists the backends c sets, in field order.
func (c StorageConfig) backends() []storageBackend {
	var set []storageBackend
	if c.Local != nil {
		set = append(set, c.Local)
	}
	if c.S3 != nil {
		set = append(set, c.S3)
	}
	if c.GCS != nil {
		set = append(set, c.GCS)
	}
	if c.Azure != nil {
		set = append(set, c.Azure)
	}
	return set
}

// String describes the location without credentials, for messages.
func (c StorageConfig) String() string {
	set := c.backends()
	if len(set) == 0 {
		return "<no storage>"
	}
	return set[0].String()
}

// OpenStorage returns the blob storage of cfg's one backend. With create,
// a missing local directory is created (for repository initialisation).
// Errors of reaching the storage wrap ErrStorageUnreachable.
func OpenStorage(ctx context.Context, cfg StorageConfig, create bool) (blob.Storage, error) {
	switch set := cfg.backends(); len(set) {
	case 0:
		return nil, fmt.Errorf("storage config sets no backend (local, s3, gcs or azure)")
	case 1:
		return set[0].open(ctx, create)
	default:
		return nil, fmt.Errorf("storage config sets more than one backend: %s and %s", set[0], set[1])
	}
}

// ObjectPrefix joins prefix parts (a BackupStorage's prefix and a
// Repository's spec.path) into the object-name prefix of a bucket or
// container the way KubeStash does: without leading or trailing "/", then
// one "/" so that it acts as a directory, or empty. KubeStash's docs write
// prefixes as "/backup/demo"; object stores have no leading slash.
func ObjectPrefix(parts ...string) string {
	p := strings.Trim(path.Join(parts...), "/")
	if p == "" || p == "." {
		return ""
	}
	return p + "/"
}

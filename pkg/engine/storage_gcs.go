package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/gcs"
	"github.com/kopia/kopia/repo/blob/throttling"
)

// GCSStorage is a repository in a Google Cloud Storage bucket under Prefix
// (the BackupStorage's prefix joined with the Repository's spec.path, see
// ObjectPrefix).
type GCSStorage struct {
	Bucket string
	Prefix string
	// ServiceAccountJSON is a service account's JSON key. Empty means
	// Google application-default credentials (GOOGLE_APPLICATION_CREDENTIALS,
	// GKE workload identity, the metadata server).
	ServiceAccountJSON []byte
	// MaxConnections bounds concurrent reads and concurrent writes; 0 means
	// no bound.
	MaxConnections int
}

var _ storageBackend = (*GCSStorage)(nil)

func (s *GCSStorage) String() string {
	return fmt.Sprintf("gcs:%s/%s", s.Bucket, s.Prefix)
}

// kopiaOptions translates s into the options of kopia's GCS storage.
func (s *GCSStorage) kopiaOptions() (*gcs.Options, error) {
	if len(s.ServiceAccountJSON) > 0 && !json.Valid(s.ServiceAccountJSON) {
		// Checked here so that a mangled key is a config error naming
		// the bucket, not a client error from deep inside kopia.
		return nil, fmt.Errorf("gcs bucket %s: the service account key is not JSON", s.Bucket)
	}
	return &gcs.Options{
		BucketName:                   s.Bucket,
		Prefix:                       s.Prefix,
		ServiceAccountCredentialJSON: json.RawMessage(s.ServiceAccountJSON),
		Limits:                       connectionLimits(s.MaxConnections),
	}, nil
}

// open connects to the bucket with kopia's GCS storage. The Google client
// talks to an emulator instead when STORAGE_EMULATOR_HOST is set.
func (s *GCSStorage) open(ctx context.Context, _ bool) (blob.Storage, error) {
	opts, err := s.kopiaOptions()
	if err != nil {
		return nil, err
	}
	st, err := gcs.New(ctx, opts, false)
	if err != nil {
		return nil, storageOpenError(s, err)
	}
	return st, nil
}

// connectionLimits is kopia's throttling for a KubeStash maxConnections:
// at most n blob reads and n blob writes in flight. kopia stores the limits
// with the storage options in the repository's connection config and
// applies them when the repository is opened.
func connectionLimits(n int) throttling.Limits {
	if n <= 0 {
		return throttling.Limits{}
	}
	return throttling.Limits{ConcurrentReads: n, ConcurrentWrites: n}
}

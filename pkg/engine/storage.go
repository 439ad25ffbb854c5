package engine

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/filesystem"
	"github.com/kopia/kopia/repo/blob/s3"
)

// StorageConfig says where a kopia repository lives. Exactly one of Local
// and S3 is set.
type StorageConfig struct {
	Local *LocalStorage
	S3    *S3Storage
}

// LocalStorage is a repository in a directory: the BackupStorage's volume
// mount path joined with the Repository's spec.path.
type LocalStorage struct {
	Path string
}

// S3Storage is a repository in an S3 bucket under Prefix (the
// BackupStorage's prefix joined with the Repository's spec.path).
type S3Storage struct {
	// Endpoint as KubeStash writes it: "https://host[:port]", "http://host:port"
	// or a bare "host[:port]" (TLS).
	Endpoint        string
	Bucket          string
	Prefix          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	// InsecureTLS skips verification of the server certificate.
	InsecureTLS bool
	// CACert is a PEM bundle of extra roots for the server certificate.
	CACert []byte
}

// String describes the location without credentials, for messages.
func (c StorageConfig) String() string {
	switch {
	case c.Local != nil:
		return "local:" + c.Local.Path
	case c.S3 != nil:
		return fmt.Sprintf("s3:%s/%s/%s", c.S3.Endpoint, c.S3.Bucket, c.S3.Prefix)
	default:
		return "<no storage>"
	}
}

// s3Endpoint turns a KubeStash endpoint URL into kopia's host[:port] and
// whether TLS is off.
func s3Endpoint(endpoint string) (hostPort string, noTLS bool, err error) {
	if !strings.Contains(endpoint, "://") {
		return strings.TrimSuffix(endpoint, "/"), false, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("invalid s3 endpoint %q: %w", endpoint, err)
	}
	switch u.Scheme {
	case "http":
		noTLS = true
	case "https":
	default:
		return "", false, fmt.Errorf("invalid s3 endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("invalid s3 endpoint %q: no host", endpoint)
	}
	return u.Host, noTLS, nil
}

// S3Prefix joins prefix parts (a BackupStorage's prefix and a Repository's
// spec.path) into kopia's object-name prefix, which must end in "/" to act
// as a directory (or be empty).
func S3Prefix(parts ...string) string {
	p := strings.Trim(path.Join(parts...), "/")
	if p == "" || p == "." {
		return ""
	}
	return p + "/"
}

// openStorage returns the blob storage. With create, a missing local
// directory is created (for repository initialisation).
func openStorage(ctx context.Context, cfg StorageConfig, create bool) (blob.Storage, error) {
	switch {
	case cfg.Local != nil && cfg.S3 != nil:
		return nil, fmt.Errorf("storage config sets both local and s3")
	case cfg.Local != nil:
		if cfg.Local.Path == "" {
			return nil, fmt.Errorf("local storage has no path")
		}
		st, err := filesystem.New(ctx, &filesystem.Options{Path: cfg.Local.Path}, create)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrStorageUnreachable, cfg, err)
		}
		return st, nil
	case cfg.S3 != nil:
		hostPort, noTLS, err := s3Endpoint(cfg.S3.Endpoint)
		if err != nil {
			return nil, err
		}
		st, err := s3.New(ctx, &s3.Options{
			BucketName:      cfg.S3.Bucket,
			Prefix:          cfg.S3.Prefix,
			Endpoint:        hostPort,
			DoNotUseTLS:     noTLS,
			DoNotVerifyTLS:  cfg.S3.InsecureTLS,
			RootCA:          cfg.S3.CACert,
			AccessKeyID:     cfg.S3.AccessKeyID,
			SecretAccessKey: cfg.S3.SecretAccessKey,
			Region:          cfg.S3.Region,
		}, create)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrStorageUnreachable, cfg, err)
		}
		return st, nil
	default:
		return nil, fmt.Errorf("storage config sets neither local nor s3")
	}
}

package engine

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/s3"
)

// S3Storage is a repository in an S3 bucket under Prefix (the
// BackupStorage's prefix joined with the Repository's spec.path).
type S3Storage struct {
	// Endpoint as KubeStash writes it: "https://host[:port]", "http://host:port"
	// or a bare "host[:port]" (TLS).
	Endpoint string
	Bucket   string
	Prefix   string
	Region   string
	// AccessKeyID, SecretAccessKey and SessionToken (temporary credentials)
	// are static credentials. Without them kopia asks the environment
	// (AWS_* variables), then IAM: IRSA's web identity token file, ECS
	// task roles and EC2 instance profiles.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// InsecureTLS skips verification of the server certificate.
	InsecureTLS bool
	// CACert is a PEM bundle of extra roots for the server certificate.
	CACert []byte
}

var _ storageBackend = (*S3Storage)(nil)

func (s *S3Storage) String() string {
	return fmt.Sprintf("s3:%s/%s/%s", s.Endpoint, s.Bucket, s.Prefix)
}

// kopiaOptions translates s into the options of kopia's S3 storage.
func (s *S3Storage) kopiaOptions() (*s3.Options, error) {
	hostPort, noTLS, err := s3Endpoint(s.Endpoint)
	if err != nil {
		return nil, err
	}
	return &s3.Options{
		BucketName:      s.Bucket,
		Prefix:          s.Prefix,
		Endpoint:        hostPort,
		DoNotUseTLS:     noTLS,
		DoNotVerifyTLS:  s.InsecureTLS,
		RootCA:          s.CACert,
		AccessKeyID:     s.AccessKeyID,
		SecretAccessKey: s.SecretAccessKey,
		SessionToken:    s.SessionToken,
		Region:          s.Region,
	}, nil
}

// open connects to the bucket with kopia's S3 storage.
func (s *S3Storage) open(ctx context.Context, create bool) (blob.Storage, error) {
	opts, err := s.kopiaOptions()
	if err != nil {
		return nil, err
	}
	st, err := s3.New(ctx, opts, create)
	if err != nil {
		return nil, storageOpenError(s, err)
	}
	return st, nil
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

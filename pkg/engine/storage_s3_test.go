package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kopia/kopia/repo/blob/s3"
)

// The KubeStash form of an S3 location becomes kopia's options: the
// endpoint's scheme decides TLS, the rest is passed through.
func TestS3StorageKopiaOptions(t *testing.T) {
	base := S3Storage{
		Bucket: "backups", Prefix: "demo/app/", Region: "eu-1",
		AccessKeyID: "key", SecretAccessKey: "secret", CACert: []byte("PEM"),
	}
	for _, tc := range []struct {
		name      string
		endpoint  string
		insecure  bool
		wantHost  string
		wantNoTLS bool
		wantErr   string
	}{
		{name: "https URL", endpoint: "https://s3.example.com", wantHost: "s3.example.com"},
		{name: "https URL with port and slash", endpoint: "https://s3.example.com:9000/", wantHost: "s3.example.com:9000"},
		{name: "http URL turns TLS off", endpoint: "http://127.0.0.1:7070", wantHost: "127.0.0.1:7070", wantNoTLS: true},
		{name: "bare host is TLS", endpoint: "minio.storage:9000/", wantHost: "minio.storage:9000"},
		{name: "insecure TLS", endpoint: "https://s3.local", insecure: true, wantHost: "s3.local"},
		{name: "other scheme", endpoint: "ftp://s3.example.com", wantErr: "scheme must be http or https"},
		{name: "no host", endpoint: "https://", wantErr: "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.Endpoint, s.InsecureTLS = tc.endpoint, tc.insecure
			got, err := s.kopiaOptions()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("kopiaOptions: %v, want an error %q", err, tc.wantErr)
				}
				return
			}
			must(t, err)
			want := s3.Options{
				BucketName: "backups", Prefix: "demo/app/", Region: "eu-1",
				Endpoint: tc.wantHost, DoNotUseTLS: tc.wantNoTLS, DoNotVerifyTLS: tc.insecure,
				AccessKeyID: "key", SecretAccessKey: "secret", RootCA: []byte("PEM"),
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("kopiaOptions() = %+v, want %+v", got, want)
			}
		})
	}
}

// An invalid endpoint is a config error, reported before any connection and
// never mistaken for unreachable storage (which a retry could get past).
func TestOpenStorageS3InvalidEndpoint(t *testing.T) {
	_, err := OpenStorage(testContext(t), StorageConfig{S3: &S3Storage{Endpoint: "ftp://s3.example.com", Bucket: "b"}}, false)
	if err == nil || errors.Is(err, ErrStorageUnreachable) {
		t.Fatalf("OpenStorage: %v, want a config error", err)
	}
}

package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kopia/kopia/repo/blob/gcs"
	"github.com/kopia/kopia/repo/blob/throttling"
)

// A gcs location becomes kopia's options: the key is passed as JSON (none
// means application-default credentials), maxConnections bounds reads and
// writes.
func TestGCSStorageKopiaOptions(t *testing.T) {
	key := []byte(`{"type": "service_account", "project_id": "p"}`)
	for _, tc := range []struct {
		name    string
		in      GCSStorage
		want    gcs.Options
		wantErr string
	}{
		{
			name: "service account key and connection bound",
			in:   GCSStorage{Bucket: "backups", Prefix: "demo/app/", ServiceAccountJSON: key, MaxConnections: 8},
			want: gcs.Options{BucketName: "backups", Prefix: "demo/app/", ServiceAccountCredentialJSON: json.RawMessage(key),
				Limits: throttling.Limits{ConcurrentReads: 8, ConcurrentWrites: 8}},
		},
		{
			name: "ambient credentials, no bound",
			in:   GCSStorage{Bucket: "backups"},
			want: gcs.Options{BucketName: "backups"},
		},
		{
			name:    "key that is not JSON",
			in:      GCSStorage{Bucket: "backups", ServiceAccountJSON: []byte("not json")},
			wantErr: "gcs bucket backups: the service account key is not JSON",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.kopiaOptions()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("kopiaOptions: %v, want an error %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "not json") {
					t.Errorf("error %q shows the key", err)
				}
				return
			}
			must(t, err)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("kopiaOptions() = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// A malformed key is a config error, not unreachable storage.
func TestOpenStorageGCSInvalidKey(t *testing.T) {
	_, err := OpenStorage(testContext(t), StorageConfig{GCS: &GCSStorage{Bucket: "b", ServiceAccountJSON: []byte("{")}}, false)
	if err == nil || errors.Is(err, ErrStorageUnreachable) {
		t.Fatalf("OpenStorage: %v, want a config error", err)
	}
}

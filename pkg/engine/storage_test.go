package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestStorageConfigNamesOneBackend(t *testing.T) {
	local := &LocalStorage{Path: "/backups/repo"}
	s3 := &S3Storage{Endpoint: "https://s3.example.com", Bucket: "b", Prefix: "p/", SecretAccessKey: "secret"}
	for _, tc := range []struct {
		name       string
		cfg        StorageConfig
		wantString string
		wantErr    string // from OpenStorage; "" means a backend was opened
	}{
		{name: "neither", cfg: StorageConfig{}, wantString: "<no storage>", wantErr: "sets no backend"},
		{name: "both", cfg: StorageConfig{Local: local, S3: s3}, wantString: "local:/backups/repo", wantErr: "sets more than one backend: local:/backups/repo and s3:https://s3.example.com/b/p/"},
		{name: "local", cfg: StorageConfig{Local: local}, wantString: "local:/backups/repo"},
		{name: "s3", cfg: StorageConfig{S3: s3}, wantString: "s3:https://s3.example.com/b/p/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.String(); got != tc.wantString {
				t.Errorf("String() = %q, want %q", got, tc.wantString)
			}
			if strings.Contains(tc.cfg.String(), "secret") {
				t.Errorf("String() %q shows a credential", tc.cfg.String())
			}
			if tc.wantErr == "" {
				return
			}
			_, err := OpenStorage(testContext(t), tc.cfg, false)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrStorageUnreachable) {
				t.Errorf("OpenStorage: %v, want a config error %q", err, tc.wantErr)
			}
		})
	}
}

func TestObjectPrefix(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"", ""}, ""},
		{[]string{"/", "/"}, ""},
		{[]string{"backups", "/demo/app"}, "backups/demo/app/"},
		{[]string{"/backups/", "demo/app/"}, "backups/demo/app/"},
		{[]string{"/backup/demo", ""}, "backup/demo/"},
		{[]string{"", "demo"}, "demo/"},
		{[]string{"a", "../b"}, "b/"},
	} {
		if got := ObjectPrefix(tc.parts...); got != tc.want {
			t.Errorf("ObjectPrefix(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

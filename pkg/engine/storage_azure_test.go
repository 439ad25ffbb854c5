package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kopia/kopia/repo/blob/azure"
	"github.com/kopia/kopia/repo/blob/throttling"
)

// An azure location becomes kopia's options: the account key when there is
// one, else the workload identity, which must be complete.
func TestAzureStorageKopiaOptions(t *testing.T) {
	base := AzureStorage{StorageAccount: "acct", Container: "backups", Prefix: "demo/app/"}
	identity := func(s AzureStorage) AzureStorage {
		s.TenantID, s.ClientID, s.FederatedTokenFile = "tenant", "client", "/var/run/secrets/azure/tokens/azure-identity-token"
		return s
	}
	for _, tc := range []struct {
		name    string
		in      func(AzureStorage) AzureStorage
		want    azure.Options
		wantErr string
	}{
		{
			name: "account key, sovereign cloud, connection bound",
			in: func(s AzureStorage) AzureStorage {
				s.AccountKey, s.StorageDomain, s.MaxConnections = "a2V5", "blob.core.chinacloudapi.cn", 3
				return s
			},
			want: azure.Options{Container: "backups", Prefix: "demo/app/", StorageAccount: "acct", StorageKey: "a2V5",
				StorageDomain: "blob.core.chinacloudapi.cn", Limits: throttling.Limits{ConcurrentReads: 3, ConcurrentWrites: 3}},
		},
		{
			name: "account key wins over workload identity",
			in:   func(s AzureStorage) AzureStorage { s = identity(s); s.AccountKey = "a2V5"; return s },
			want: azure.Options{Container: "backups", Prefix: "demo/app/", StorageAccount: "acct", StorageKey: "a2V5"},
		},
		{
			name: "workload identity",
			in:   identity,
			want: azure.Options{Container: "backups", Prefix: "demo/app/", StorageAccount: "acct",
				TenantID: "tenant", ClientID: "client", AzureFederatedTokenFile: "/var/run/secrets/azure/tokens/azure-identity-token"},
		},
		{
			name:    "no credentials",
			in:      func(s AzureStorage) AzureStorage { return s },
			wantErr: "azure storage account acct: no account key and no workload identity (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE must all be set)",
		},
		{
			name:    "incomplete workload identity",
			in:      func(s AzureStorage) AzureStorage { s = identity(s); s.FederatedTokenFile = ""; return s },
			wantErr: "no account key and no workload identity",
		},
		{
			name: "storage domain with a scheme",
			in: func(s AzureStorage) AzureStorage {
				s.AccountKey, s.StorageDomain = "a2V5", "https://blob.example"
				return s
			},
			wantErr: `azure storage domain "https://blob.example": a domain without scheme`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in(base)
			got, err := in.kopiaOptions()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("kopiaOptions: %v, want an error %q", err, tc.wantErr)
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

func TestAzureStorageString(t *testing.T) {
	s := AzureStorage{StorageAccount: "acct", Container: "c", Prefix: "p/", AccountKey: "secret-key"}
	if got, want := s.String(), "azure:acct.blob.core.windows.net/c/p/"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	s.StorageDomain = "blob.core.usgovcloudapi.net"
	if got := s.String(); got != "azure:acct.blob.core.usgovcloudapi.net/c/p/" || strings.Contains(got, "secret") {
		t.Errorf("String() = %q", got)
	}
}

// Missing credentials are a config error, reported before any connection.
func TestOpenStorageAzureWithoutCredentials(t *testing.T) {
	_, err := OpenStorage(testContext(t), StorageConfig{Azure: &AzureStorage{StorageAccount: "a", Container: "c"}}, false)
	if err == nil || errors.Is(err, ErrStorageUnreachable) {
		t.Fatalf("OpenStorage: %v, want a config error", err)
	}
}

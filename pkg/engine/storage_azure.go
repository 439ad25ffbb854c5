package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/azure"
)

// AzureStorage is a repository in an Azure Blob Storage container under
// Prefix (see ObjectPrefix).
type AzureStorage struct {
	StorageAccount string
	Container      string
	Prefix         string
	// AccountKey is the storage account's shared key. Without it the
	// workload identity below is used.
	AccountKey string
	// Workload identity, as the Azure workload identity webhook injects it
	// (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE).
	TenantID           string
	ClientID           string
	FederatedTokenFile string
	// StorageDomain replaces blob.core.windows.net: the service is
	// https://<StorageAccount>.<StorageDomain>/.
	StorageDomain string
	// MaxConnections bounds concurrent reads and concurrent writes; 0 means
	// no bound.
	MaxConnections int
}

var _ storageBackend = (*AzureStorage)(nil)

// defaultAzureStorageDomain is Azure's public cloud, kopia's default.
const defaultAzureStorageDomain = "blob.core.windows.net"

func (s *AzureStorage) String() string {
	domain := s.StorageDomain
	if domain == "" {
		domain = defaultAzureStorageDomain
	}
	return fmt.Sprintf("azure:%s.%s/%s/%s", s.StorageAccount, domain, s.Container, s.Prefix)
}

// kopiaOptions translates s into the options of kopia's Azure storage: the
// account key when there is one, else workload identity, which needs all
// three of its settings.
func (s *AzureStorage) kopiaOptions() (*azure.Options, error) {
	if strings.Contains(s.StorageDomain, "://") {
		return nil, fmt.Errorf("azure storage domain %q: a domain without scheme, such as %s", s.StorageDomain, defaultAzureStorageDomain)
	}
	opts := &azure.Options{
		Container:      s.Container,
		Prefix:         s.Prefix,
		StorageAccount: s.StorageAccount,
		StorageDomain:  s.StorageDomain,
		Limits:         connectionLimits(s.MaxConnections),
	}
	if s.AccountKey != "" {
		opts.StorageKey = s.AccountKey
		return opts, nil
	}
	if s.TenantID == "" || s.ClientID == "" || s.FederatedTokenFile == "" {
		return nil, fmt.Errorf("azure storage account %s: no account key and no workload identity "+
			"(AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE must all be set)", s.StorageAccount)
	}
	opts.TenantID, opts.ClientID, opts.AzureFederatedTokenFile = s.TenantID, s.ClientID, s.FederatedTokenFile
	return opts, nil
}

// open connects to the container with kopia's Azure storage.
func (s *AzureStorage) open(ctx context.Context, _ bool) (blob.Storage, error) {
	opts, err := s.kopiaOptions()
	if err != nil {
		return nil, err
	}
	st, err := azure.New(ctx, opts, false)
	if err != nil {
		return nil, storageOpenError(s, err)
	}
	return st, nil
}

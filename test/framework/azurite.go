package framework

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Azurite's well-known development account (documented by Microsoft,
// not a secret).
const (
	AzuriteAccount    = "devstoreaccount1"
	AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running Azure Blob Storage emulator (azurite-blob,
// in-memory) for a test, serving HTTPS with a certificate of its own.
type Azurite struct {
	// Addr is 127.0.0.1:port.
	Addr string
	// CertFile is the PEM certificate the server presents (self-signed,
	// for IP 127.0.0.1): clients trust it through SSL_CERT_FILE.
	CertFile string
	// StorageDomain routes kopia, which always dials
	// https://<account>.<domain>/, to Azurite's path-style account URL:
	// https://devstoreaccount1.x@127.0.0.1:port/devstoreaccount1/, where
	// "devstoreaccount1.x" is only URL userinfo, which the shared-key
	// Authorization header makes the HTTP client ignore.
	StorageDomain string
}

// StartAzurite starts azurite-blob, as installed by `make tools` into
// $RESTORE_TOOLS_DIR/azurite (ToolPath), on a free port with a fresh
// self-signed certificate, waits until it answers and stops it when the
// test ends.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	bin := ToolPath(t, filepath.Join("azurite", "node_modules", ".bin", "azurite-blob"))
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := WriteSelfSignedCert(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddress(t)
	host, port, _ := strings.Cut(addr, ":")
	a := &Azurite{Addr: addr, CertFile: certFile, StorageDomain: AzuriteStorageDomain(addr)}
	StartProcess(t, "azurite", bin, []string{"--blobHost", host, "--blobPort", port, "--inMemoryPersistence",
		"--skipApiVersionCheck", "--loose", "--disableTelemetry", "--cert", certFile, "--key", keyFile},
		a.ready(t))
	return a
}

// ready reports whether Azurite answers HTTPS (any status) with its
// certificate.
func (a *Azurite) ready(t testing.TB) func(ctx context.Context) bool {
	client := a.httpClient(t)
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+a.Addr+"/"+AzuriteAccount+"?comp=list", nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}
}

// httpClient trusts the server's certificate only.
func (a *Azurite) httpClient(t testing.TB) *http.Client {
	t.Helper()
	c, err := azuriteHTTPClient(a.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// azuriteHTTPClient trusts only the certificate in certFile.
func azuriteHTTPClient(certFile string) (*http.Client, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}, nil
}

// client is a blob client of the development account.
func (a *Azurite) client(t testing.TB) *azblob.Client {
	t.Helper()
	c, err := azuriteClient(a.Addr, a.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// azuriteClient is a blob client of the development account on the
// Azurite at addr (host:port) serving certFile's certificate.
func azuriteClient(addr, certFile string) (*azblob.Client, error) {
	hc, err := azuriteHTTPClient(certFile)
	if err != nil {
		return nil, err
	}
	cred, err := azblob.NewSharedKeyCredential(AzuriteAccount, AzuriteAccountKey)
	if err != nil {
		return nil, err
	}
	return azblob.NewClientWithSharedKeyCredential("https://"+addr+"/"+AzuriteAccount+"/", cred,
		&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
}

// AzuriteStorageDomain is the spec.storage.azure.storageDomain that routes
// kopia, which always dials https://<account>.<domain>/, to the
// development account of the Azurite at addr (host:port): see
// Azurite.StorageDomain.
func AzuriteStorageDomain(addr string) string {
	return "x@" + addr + "/" + AzuriteAccount
}

// CountBlobs is the number of blobs in container whose names start with
// prefix.
func (a *Azurite) CountBlobs(ctx context.Context, t testing.TB, container, prefix string) int {
	t.Helper()
	n := 0
	pager := a.client(t).NewListBlobsFlatPager(container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing %s/%s: %v", container, prefix, err)
		}
		n += len(page.Segment.BlobItems)
	}
	return n
}

// MakeContainer creates container in the development account.
func (a *Azurite) MakeContainer(ctx context.Context, t testing.TB, container string) {
	t.Helper()
	if err := CreateAzuriteContainer(ctx, a.Addr, a.CertFile, container); err != nil {
		t.Fatal(err)
	}
}

// CreateAzuriteContainer creates container in the development account of
// the Azurite at addr (host:port) serving certFile's certificate; a
// container that exists already is fine.
func CreateAzuriteContainer(ctx context.Context, addr, certFile, container string) error {
	c, err := azuriteClient(addr, certFile)
	if err != nil {
		return err
	}
	if _, err := c.CreateContainer(ctx, container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("creating container %s: %w", container, err)
	}
	return nil
}

// WriteSelfSignedCert writes a certificate and key for IP 127.0.0.1, valid
// for a day, for an emulator serving HTTPS (Azurite).
func WriteSelfSignedCert(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "azurite-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

package framework

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Versitygw is a running S3 server (versitygw, posix backend) for a test.
type Versitygw struct {
	Endpoint       string // host:port, plain HTTP
	Access, Secret string
	Dir            string // the posix backend's directory
}

// StartVersitygw starts versitygw, as built by `make tools` (ToolPath), on
// a free port, waits until it answers and stops it when the test ends; a
// failed test logs the server's output.
func StartVersitygw(t testing.TB) *Versitygw {
	t.Helper()
	bin := ToolPath(t, "versitygw")
	addr := FreeAddress(t)
	gw := &Versitygw{Endpoint: addr, Access: "restore-test", Secret: "restore-test-secret", Dir: t.TempDir()}
	StartProcess(t, "versitygw", bin, []string{"--access", gw.Access, "--secret", gw.Secret, "--port", addr, "posix", gw.Dir},
		HTTPReady("http://"+addr+"/"))
	return gw
}

// MakeBucket creates bucket and returns a client of the server.
func (gw *Versitygw) MakeBucket(ctx context.Context, t testing.TB, bucket string) *minio.Client {
	t.Helper()
	mc, err := minio.New(gw.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(gw.Access, gw.Secret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	return mc
}

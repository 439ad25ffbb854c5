package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"k8s.io/apimachinery/pkg/util/wait"
)

// runBucket waits for the S3 server to answer and creates the bucket
// unless it exists.
func runBucket(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bucket", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "S3 server HOST:PORT (plain HTTP)")
	access := fs.String("access", "", "access key")
	secret := fs.String("secret", "", "secret key")
	bucket := fs.String("bucket", "", "bucket name")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server")
	if err := parse(fs, args, "endpoint", "access", "secret", "bucket"); err != nil {
		return err
	}
	mc, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, ""), Secure: false})
	if err != nil {
		return err
	}
	var exists bool
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, *timeout, true, func(ctx context.Context) (bool, error) {
		exists, last = mc.BucketExists(ctx, *bucket)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("S3 server %s did not answer within %v: %v", *endpoint, *timeout, last)
	}
	if exists {
		fmt.Printf("bucket %s exists\n", *bucket)
		return nil
	}
	if err := mc.MakeBucket(ctx, *bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("creating bucket %s: %w", *bucket, err)
	}
	fmt.Printf("bucket %s created\n", *bucket)
	return nil
}

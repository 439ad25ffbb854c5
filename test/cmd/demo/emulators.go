package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/restore-controller/restore/test/framework"
)

// runGCSBucket waits for the fake-gcs-server to answer and creates the
// bucket unless it exists.
func runGCSBucket(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gcs-bucket", flag.ContinueOnError)
	url := fs.String("url", "", "fake-gcs-server URL, http://HOST:PORT")
	bucket := fs.String("bucket", "", "bucket name")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server")
	if err := parse(fs, args, "url", "bucket"); err != nil {
		return err
	}
	if err := untilServerAnswers(ctx, *timeout, "fake-gcs-server "+*url, func(ctx context.Context) error {
		return framework.CreateFakeGCSBucket(ctx, *url, *bucket)
	}); err != nil {
		return err
	}
	fmt.Printf("bucket %s ready\n", *bucket)
	return nil
}

// runAzureContainer waits for Azurite to answer and creates the container
// in its development account unless it exists.
func runAzureContainer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("azure-container", flag.ContinueOnError)
	addr := fs.String("addr", "", "Azurite HOST:PORT (HTTPS)")
	cert := fs.String("cert", "", "the certificate Azurite serves (PEM)")
	container := fs.String("container", "", "container name")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the server")
	if err := parse(fs, args, "addr", "cert", "container"); err != nil {
		return err
	}
	if err := untilServerAnswers(ctx, *timeout, "Azurite "+*addr, func(ctx context.Context) error {
		return framework.CreateAzuriteContainer(ctx, *addr, *cert, *container)
	}); err != nil {
		return err
	}
	fmt.Printf("container %s ready\n", *container)
	return nil
}

// untilServerAnswers repeats create until it succeeds or timeout passes:
// the emulator was just started and may not listen yet.
func untilServerAnswers(ctx context.Context, timeout time.Duration, server string, create func(ctx context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = create(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("%s did not answer within %v: %v", server, timeout, last)
	}
	return nil
}

// runCert writes a self-signed certificate and key for 127.0.0.1.
func runCert(args []string) error {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	cert := fs.String("cert", "", "certificate file to write (PEM)")
	key := fs.String("key", "", "key file to write (PEM)")
	if err := parse(fs, args, "cert", "key"); err != nil {
		return err
	}
	return framework.WriteSelfSignedCert(*cert, *key)
}

// runGCSKey prints a well-formed service account JSON key, which the
// emulator accepts without checking.
func runGCSKey() error {
	key, err := framework.NewFakeServiceAccountKey()
	if err != nil {
		return err
	}
	fmt.Println(key)
	return nil
}

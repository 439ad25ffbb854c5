// Command demo is the helper of hack/demo.sh (`make demo`). It does the
// parts of the demo that are awkward in a shell script:
//
//	demo data DIR
//	    write the sample data: DIR/gen-1/pod-{0,1,2} (an older backup),
//	    DIR/gen-2/pod-{0,1,2} (the newer one, which `latest` must pick) and
//	    DIR/app-state/pod-1 (what replica 1 holds before the restore)
//	demo free-port
//	    print a free TCP port on 127.0.0.1
//	demo bucket --endpoint HOST:PORT --access KEY --secret SECRET --bucket NAME
//	    create an S3 bucket unless it exists (wait for the server first)
//	demo gcs-bucket --url http://HOST:PORT --bucket NAME
//	    the same on a fake-gcs-server
//	demo azure-container --addr HOST:PORT --cert FILE --container NAME
//	    the same on Azurite (development account; HTTPS with FILE's certificate)
//	demo cert --cert FILE --key FILE
//	    write a self-signed certificate and key for 127.0.0.1 (Azurite's)
//	demo gcs-key
//	    print a well-formed GCS service account JSON key (emulators ignore it)
//	demo watch --namespace NS --name NAME [--timeout 10m]
//	    follow a RestoreSession, printing its phase, conditions and each
//	    component's progress as they change, until it Succeeded (exit 0)
//	    or Failed (exit 1)
//	demo verify --namespace NS --statefulset NAME --claim TEMPLATE ORDINAL=DIR...
//	    compare the volume of each replica ORDINAL (PVC TEMPLATE-NAME-ORDINAL,
//	    found through its PersistentVolume's hostPath) with DIR: types,
//	    modes, sizes, mtimes, SHA-256 of contents, symlink targets
//
// watch and verify read $KUBECONFIG (or --kubeconfig).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx := context.Background()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "data":
		if len(args) != 1 {
			usage()
		}
		err = writeSampleData(args[0])
	case "free-port":
		err = freePort()
	case "bucket":
		err = runBucket(ctx, args)
	case "gcs-bucket":
		err = runGCSBucket(ctx, args)
	case "azure-container":
		err = runAzureContainer(ctx, args)
	case "cert":
		err = runCert(args)
	case "gcs-key":
		err = runGCSKey()
	case "watch":
		err = runWatch(ctx, args)
	case "verify":
		err = runVerify(ctx, args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, strings.TrimSpace(`
usage: demo data DIR
       demo free-port
       demo bucket --endpoint HOST:PORT --access KEY --secret SECRET --bucket NAME
       demo gcs-bucket --url http://HOST:PORT --bucket NAME
       demo azure-container --addr HOST:PORT --cert FILE --container NAME
       demo cert --cert FILE --key FILE
       demo gcs-key
       demo watch --namespace NS --name NAME [--timeout 10m]
       demo verify --namespace NS --statefulset NAME --claim TEMPLATE ORDINAL=DIR...`))
	os.Exit(2)
}

func freePort() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}

// kubeconfigFlag adds --kubeconfig defaulting to $KUBECONFIG.
func kubeconfigFlag(fs *flag.FlagSet) *string {
	return fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (default $KUBECONFIG)")
}

// parse parses args into fs and checks that the named flags are set.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, n := range required {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return errors.New(fs.Name() + ": missing " + strings.Join(missing, ", "))
	}
	return nil
}

// clients are the Kubernetes and restore clientsets of a kubeconfig.
type clients struct {
	kube    kubernetes.Interface
	restore versioned.Interface
}

func newClients(kubeconfig string) (clients, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return clients{}, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	rc, err := versioned.NewForConfig(cfg)
	return clients{kube: kc, restore: rc}, err
}

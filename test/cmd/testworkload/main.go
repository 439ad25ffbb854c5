// Command testworkload is the program the e2e tests map container images to.
// It runs inside the process kubelet's mount namespace and uses only what a
// real container would: its mounts, its environment and in-cluster config.
//
//	testworkload write FILE TEXT      write TEXT to FILE (e.g. in a PVC mount)
//	testworkload exit CODE            print a line and exit with CODE
//	testworkload can-list RESOURCE    list configmaps|secrets in the pod's
//	                                  namespace with the pod's service account:
//	                                  prints "allowed" (exit 0) or "forbidden" (exit 3)
//	testworkload env                  print the environment and the working directory
//	testworkload cat FILE...          print "FILE=content" for each file
//	testworkload sleep                wait for SIGTERM, print "terminated", exit 0
//	testworkload hang                 ignore SIGTERM (print "ignoring SIGTERM") until killed
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: testworkload write|exit|can-list|env|cat|sleep|hang ...")
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "write":
		if len(args) != 2 {
			fail(2, "usage: write FILE TEXT")
		}
		if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
			fail(1, err.Error())
		}
		fmt.Printf("wrote %d bytes to %s\n", len(args[1]), args[0])
	case "exit":
		code, err := strconv.Atoi(strings.Join(args, ""))
		if err != nil {
			fail(2, "usage: exit CODE")
		}
		fmt.Printf("exiting with %d\n", code)
		os.Exit(code)
	case "can-list":
		if len(args) != 1 {
			fail(2, "usage: can-list RESOURCE")
		}
		canList(args[0])
	case "env":
		env := os.Environ()
		sort.Strings(env)
		for _, e := range env {
			fmt.Println(e)
		}
		wd, _ := os.Getwd()
		fmt.Println("CWD=" + wd)
	case "cat":
		for _, f := range args {
			b, err := os.ReadFile(f)
			if err != nil {
				fail(1, err.Error())
			}
			fmt.Printf("%s=%s\n", f, b)
		}
	case "sleep":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("sleeping")
		<-ch
		fmt.Println("terminated")
	case "hang":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("hanging")
		for range ch {
			fmt.Println("ignoring SIGTERM")
		}
	default:
		fail(2, "unknown command "+cmd)
	}
}

func canList(resource string) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fail(1, "in-cluster config: "+err.Error())
	}
	ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		fail(1, err.Error())
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail(1, err.Error())
	}
	ctx := context.Background()
	switch resource {
	case "configmaps":
		_, err = cs.CoreV1().ConfigMaps(string(ns)).List(ctx, metav1.ListOptions{})
	case "secrets":
		_, err = cs.CoreV1().Secrets(string(ns)).List(ctx, metav1.ListOptions{})
	default:
		fail(2, "resource must be configmaps or secrets")
	}
	switch {
	case err == nil:
		fmt.Printf("allowed: list %s in %s\n", resource, ns)
	case apierrors.IsForbidden(err):
		fmt.Printf("forbidden: %v\n", err)
		os.Exit(3)
	default:
		fail(1, err.Error())
	}
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(code)
}

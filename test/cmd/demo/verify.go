package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/restore-controller/restore/internal/fstree"
)

// runVerify compares replica volumes of a StatefulSet with directories.
func runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	kubeconfig := kubeconfigFlag(fs)
	ns := fs.String("namespace", "", "namespace of the StatefulSet")
	sts := fs.String("statefulset", "", "StatefulSet name")
	claim := fs.String("claim", "", "name of the StatefulSet's volumeClaimTemplate")
	if err := parse(fs, args, "namespace", "statefulset", "claim"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("verify: give at least one ORDINAL=DIR")
	}
	c, err := newClients(*kubeconfig)
	if err != nil {
		return err
	}

	failed := false
	for _, arg := range fs.Args() {
		ord, want, ok := strings.Cut(arg, "=")
		if _, err := strconv.Atoi(ord); !ok || err != nil || want == "" {
			return fmt.Errorf("verify: want ORDINAL=DIR, got %q", arg)
		}
		pvc := fmt.Sprintf("%s-%s-%s", *claim, *sts, ord)
		dir, err := claimHostDir(ctx, c.kube, *ns, pvc)
		if err != nil {
			return err
		}
		wantTree, err := fstree.Scan(want)
		if err != nil {
			return err
		}
		gotTree, err := fstree.Scan(dir)
		if err != nil {
			return err
		}
		files, bytes := wantTree.Stats()
		diffs := fstree.Diff(wantTree, gotTree, fstree.Options{})
		if len(diffs) == 0 {
			fmt.Printf("  replica %s (PVC %s): %s, %s of %d bytes, identical to %s\n", ord, pvc, plural(len(wantTree), "path"), plural(int(files), "file"), bytes, want)
			continue
		}
		failed = true
		fmt.Printf("  replica %s (PVC %s, %s) differs from %s in %d place(s):\n", ord, pvc, dir, want, len(diffs))
		for i, d := range diffs {
			if i == 20 {
				fmt.Printf("    ... and %d more\n", len(diffs)-i)
				break
			}
			fmt.Printf("    %s\n", d)
		}
	}
	if failed {
		return errors.New("restored data does not match")
	}
	return nil
}

// claimHostDir is the host directory of a bound PVC's hostPath volume (the
// local cluster's provisioner makes hostPath PersistentVolumes).
func claimHostDir(ctx context.Context, kc kubernetes.Interface, ns, name string) (string, error) {
	pvc, err := kc.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("PVC %s/%s is not bound", ns, name)
	}
	pv, err := kc.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.HostPath == nil {
		return "", fmt.Errorf("PersistentVolume %s of PVC %s/%s is not a hostPath volume", pv.Name, ns, name)
	}
	return pv.Spec.HostPath.Path, nil
}

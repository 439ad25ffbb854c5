package e2e

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/internal/fstree"
	"github.com/restore-controller/restore/internal/treetest"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// e2eBucket is the bucket (Azure: container) the restore tests keep their
// repositories in.
const e2eBucket = "restore-e2e"

// TestFullRestoreStatefulSet is the whole product on the local cluster,
// from each kind of BackupStorage (local, and S3, GCS and Azure on their
// emulators; one controller, a subtest per storage, in parallel): a
// Snapshot of three components made by `restore-executor snapshot`, the
// controller (with its RBAC manifest's permissions) creating one Job per
// replica of a StatefulSet, and the real executor restoring each replica's
// data into that replica's PVC with the least-privilege Role the
// controller made, reaching the storage with what the BackupStorage's
// runtimeSettings give its Jobs. At the same time a second RestoreSession
// restores only part of one component (include and exclude) into a PVC.
//
// Replica 1's volume holds a restore that stopped part-way: the restore
// completes it (resume is the executor's default) without rewriting the
// files already complete. Every restored tree is compared with its source
// with internal/treetest: contents, modes, symlinks and the mtimes of
// files and directories alike.
func TestFullRestoreStatefulSet(t *testing.T) {
	startController(t)
	storages := []struct {
		name    string
		storage func(t *testing.T) *backupStorage
	}{{"local", localBackupStorage}}
	for _, o := range objectStores {
		storages = append(storages, struct {
			name    string
			storage func(t *testing.T) *backupStorage
		}{string(o.provider), func(t *testing.T) *backupStorage {
			store := o.start(t)
			store.makeBucket(t, e2eBucket)
			return store.storage(e2eBucket)
		}})
	}
	for _, tc := range storages {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			restoreStatefulSetAndPart(t, tc.storage(t))
		})
	}
}

// The partial restore: of component pod-2, only what partialParams
// include, minus what they exclude (see partialTree).
const partialParams = `{"include":"sub,other","exclude":"*.tmp"}`

func restoreStatefulSetAndPart(t *testing.T, storage *backupStorage) {
	ns := framework.NewNamespace(t, c, "e2e-")
	w := newRestoreWorldOn(t, ns, "fake-"+ns, "repo", storage)
	addon := w.kopiaAddon(t)
	const replicas = 3
	sources := map[string]string{}
	for i := range replicas {
		dir := filepath.Join(t.TempDir(), "src")
		treetest.Write(t, dir, uint64(100+i))
		sources[fmt.Sprintf("pod-%d", i)] = dir
	}
	w.seedSnapshot(t, "snap", "/data", sources)
	statefulSet(t, ns, "db", replicas)
	persistentVolumeClaim(t, ns, "app-data")
	complete := interruptedRestore(t, boundClaimDir(t, ns, "data-db-1"), 101)

	full := w.restoreSession("full", corev1alpha1.SnapshotLatest, stsTarget("db"), "")
	full.Spec.Addon.Name = addon
	createRestore(t, full)
	part := w.restoreSession("part", "snap", appDataTarget(), partialParams)
	part.Spec.Addon.Name = addon
	part.Spec.DataSource.Components = []string{"pod-2"}
	createRestore(t, part)

	got := framework.WaitForPhase(t, restoreClient, ns, full.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)
	for i := range replicas {
		comp := fmt.Sprintf("pod-%d", i)
		treetest.Compare(t, sources[comp], framework.ClaimDir(t, c, ns, fmt.Sprintf("data-db-%d", i)))
		st := got.Status.Components[comp]
		p := st.Progress
		if p == nil || p.TotalBytes == 0 || p.RestoredBytes != p.TotalBytes || p.Percentage != 100 || st.Duration == "" {
			t.Errorf("component %s = %s: want Succeeded with all bytes restored", comp, framework.DescribeComponent(st))
		}
	}
	complete.expectUntouched(t)

	framework.WaitForPhase(t, restoreClient, ns, part.Name, corev1alpha1.RestoreSucceeded, 3*time.Minute)
	want := partialTree(t, sources["pod-2"])
	for _, d := range fstree.Diff(want, treetest.Scan(t, framework.ClaimDir(t, c, ns, "app-data")), fstree.Options{AllMTimes: true}) {
		t.Errorf("partial restore (%s): %s", partialParams, d)
	}
}

// partialTree is the tree under src that partialParams restore: sub/ and
// other/, without files named *.tmp.
func partialTree(t *testing.T, src string) fstree.Tree {
	t.Helper()
	tree := treetest.Scan(t, src)
	for p := range tree {
		top, _, _ := strings.Cut(p, "/")
		if tmp, _ := path.Match("*.tmp", path.Base(p)); (top != "sub" && top != "other") || tmp {
			delete(tree, p)
		}
	}
	if _, ok := tree["other/skip/inner/f.md"]; !ok || len(tree) < 5 {
		t.Fatalf("the partial tree lost what it must keep: %v", tree)
	}
	return tree
}

// fileIdentity is what rewriting a file changes: its inode (a file written
// anew and renamed into place) or its change time (a file written, or
// its mode, owner or times set, in place).
type fileIdentity struct {
	ino   uint64
	ctime syscall.Timespec
}

// completeFiles are the files of an interrupted restore that were
// complete, under dir, with their identities then.
type completeFiles struct {
	dir   string
	files map[string]fileIdentity
}

// interruptedRestore leaves in dir what a restore of treetest.Write's tree
// of seed leaves when it stops part-way: sub/deeper not yet restored,
// big.bin half written (a later mtime than the snapshot's), every other
// file complete. It returns those complete files.
func interruptedRestore(t *testing.T, dir string, seed uint64) completeFiles {
	t.Helper()
	treetest.Write(t, dir, seed)
	if err := os.RemoveAll(filepath.Join(dir, "sub", "deeper")); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.bin")
	st, err := os.Stat(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	complete := completeFiles{dir: dir, files: map[string]fileIdentity{}}
	for _, rel := range []string{"a.txt", "sub/b.dat", "other/d.txt", "other/skip/e.tmp", "other/skip/inner/f.md"} {
		complete.files[rel] = identity(t, filepath.Join(dir, rel))
	}
	return complete
}

// expectUntouched fails the test if the restore rewrote a file that was
// complete before it.
func (cf completeFiles) expectUntouched(t *testing.T) {
	t.Helper()
	for rel, before := range cf.files {
		if now := identity(t, filepath.Join(cf.dir, rel)); now != before {
			t.Errorf("%s was complete before the restore, which rewrote it: inode %d, ctime %v; before %d, %v",
				rel, now.ino, now.ctime, before.ino, before.ctime)
		}
	}
}

func identity(t *testing.T, p string) fileIdentity {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fileIdentity{ino: st.Ino, ctime: st.Ctim}
}

// boundClaimDir waits until the PVC ns/claim is bound and returns its
// volume's host directory.
func boundClaimDir(t *testing.T, ns, claim string) string {
	t.Helper()
	framework.Poll(t, time.Minute, "PVC "+ns+"/"+claim+" to be bound", func(ctx context.Context) (bool, string, error) {
		pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return pvc.Spec.VolumeName != "", string(pvc.Status.Phase), nil
	})
	return framework.ClaimDir(t, c, ns, claim)
}

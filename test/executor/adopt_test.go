package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/internal/fstree"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
	"github.com/restore-controller/restore/test/framework"
)

// TestAdoptedKopiaCLISnapshotRestoresHostileTree: a snapshot the kopia CLI
// took of a hostile tree, in a repository the CLI created, is registered
// with `restore-executor snapshot adopt` as a Snapshot object and restored
// by a restore Job (sparse, verified) into a PVC: every entry comes back
// identical (types, bytes, modes, link targets and every mtime, of
// directories and symlinks too), the 64 MiB file with one byte in the
// middle stays sparse, and the component's verification re-read every file
// with no mismatch.
func TestAdoptedKopiaCLISnapshotRestoresHostileTree(t *testing.T) {
	storageDir := t.TempDir()
	vol := corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: storageDir, Type: ptr.To(corev1.HostPathDirectory)}}
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local:    &storagev1alpha1.LocalSpec{VolumeSource: vol, MountPath: "/safe/data"},
		},
		check: func(t *testing.T) {},
		seed: func(t *testing.T, s seedInput) string {
			src := filepath.Join(t.TempDir(), "hostile")
			writeHostileTree(t, src)
			k := newKopiaCLI(t, s.password)
			// Where the Repository (path /demo/app) of the local storage points.
			k.run("repository", "create", "filesystem", "--path", filepath.Join(storageDir, "demo", "app"))
			id := k.snapshot(src)
			framework.RunCommand(t, nil, s.bin, "snapshot", "adopt", "--kubeconfig", s.kubeconfig, "--namespace", s.ns,
				"--repository", s.repository, "--name", s.snapshot, "--local-storage-dir", storageDir,
				"--component", s.component+"="+id+":"+s.hostPath)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rc, err := versioned.NewForConfig(c.Config())
			if err != nil {
				t.Fatal(err)
			}
			snap, err := rc.StorageV1alpha1().Snapshots(s.ns).Get(ctx, s.snapshot, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("snapshot adopt recorded no Snapshot: %v", err)
			}
			comp := snap.Status.Components[s.component]
			if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded || comp.Driver != storagev1alpha1.DriverKopia ||
				len(comp.KopiaStats) != 1 || comp.KopiaStats[0].SnapshotID != id || comp.KopiaStats[0].HostPath != s.hostPath ||
				snap.Labels[storagev1alpha1.LabelRepoName] != s.repository || snap.Status.SnapshotTime == nil {
				t.Fatalf("adopted Snapshot %+v %+v, want Succeeded, driver Kopia, kopiaStats [%s -> %s], repo label, snapshotTime", snap.Labels, snap.Status, id, s.hostPath)
			}
			return src
		},
		jobArgs: []string{"--sparse", "--verify"},
		checkRestored: func(t *testing.T, src, restored string, final corev1alpha1.ComponentRestoreStatus) {
			want := framework.ScanTree(t, src)
			if d := fstree.Diff(want, framework.ScanTree(t, restored), fstree.Options{AllMTimes: true}); len(d) > 0 {
				t.Errorf("the restored hostile tree differs:\n  %s", strings.Join(d, "\n  "))
			}
			st, err := os.Stat(filepath.Join(restored, "sparse.img"))
			if err != nil {
				t.Fatal(err)
			}
			if used := allocated(t, filepath.Join(restored, "sparse.img")); st.Size() != 64<<20 || used > 1<<20 {
				t.Errorf("sparse.img restored with size %d and %d bytes allocated, want 64 MiB with at most 1 MiB allocated", st.Size(), used)
			}
			files, _ := want.Stats()
			v := final.Verification
			if v == nil || v.Files != files || v.Mismatches != 0 || v.Symlinks != 3 {
				t.Errorf("verification %+v, want %d files and 3 symlinks verified, no mismatch", v, files)
			}
		},
	})
}

// writeHostileTree writes what a restore gets wrong most easily: unicode
// and newline names, 250-byte names, 40 nested directories, a 64 MiB
// sparse file with one byte in the middle, zero-byte files, modes from
// 0444 to 0755, old mtimes, relative, absolute and dangling symlinks and
// empty directories.
func writeHostileTree(t *testing.T, dir string) {
	t.Helper()
	old := time.Date(1987, 6, 5, 4, 3, 2, 100, time.UTC)
	mustT := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustT(os.MkdirAll(dir, 0o755))
	long := strings.Repeat("é", 125) // 250 bytes
	files := []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"ünïcødé-名前-🙂.txt", "unicode", 0o644},
		{"new\nline", "newline in the name", 0o600},
		{long, "a 250-byte name", 0o640},
		{"zero", "", 0o444},
		{"zero-exec", "", 0o755},
		{"r-x", "#!/bin/sh\n", 0o555},
		{"owner-only", "x", 0o700},
		{"read-only", "ro", 0o444},
		{"u+rx", "rx", 0o500},
	}
	for i, f := range files {
		p := filepath.Join(dir, f.name)
		mustT(os.WriteFile(p, []byte(f.data), 0o600))
		mustT(os.Chmod(p, f.mode))
		mtime := old.Add(time.Duration(i) * 24 * time.Hour)
		mustT(os.Chtimes(p, mtime, mtime))
	}
	// 40 nested directories with a file at the bottom and a long name.
	deep := dir
	for i := 0; i < 40; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("d%02d", i))
	}
	mustT(os.MkdirAll(deep, 0o755))
	mustT(os.WriteFile(filepath.Join(deep, long), []byte("deep"), 0o644))

	// 64 MiB, one byte in the middle.
	sp, err := os.Create(filepath.Join(dir, "sparse.img"))
	mustT(err)
	mustT(sp.Truncate(64 << 20))
	_, err = sp.WriteAt([]byte{0x5a}, 32<<20)
	mustT(err)
	mustT(sp.Close())

	mustT(os.Symlink("ünïcødé-名前-🙂.txt", filepath.Join(dir, "relative-link")))
	mustT(os.Symlink("/etc/hostname", filepath.Join(dir, "absolute-link")))
	mustT(os.Symlink("does/not/exist", filepath.Join(dir, "dangling-link")))
	mustT(os.MkdirAll(filepath.Join(dir, "empty", "nested-empty"), 0o750))
	mustT(os.Mkdir(filepath.Join(dir, "empty-ro"), 0o555))

	// Directory mtimes last (writing into a directory changes its mtime),
	// deepest first; symlinks' own mtimes too.
	var dirs []string
	mustT(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			return lchtimes(p, old)
		}
		if d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return nil
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		mustT(os.Chtimes(dirs[i], old, old))
	}
}

func lchtimes(p string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// allocated is the bytes the file at p occupies on disk.
func allocated(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

package engine

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/restore-controller/restore/internal/treetest"
)

// nonRootID is the executor image's user and group, and the fsGroup of
// restore Jobs in namespaces that enforce Pod Security "restricted".
const nonRootID = 65532

const nonRootChildEnv = "ENGINE_TEST_NONROOT_CHILD"

// nonRootRestore is what TestRestoreAsNonRootIntoFSGroupVolume hands its
// child.
type nonRootRestore struct {
	Repo, Scratch, Target string
	Entries               []SnapshotEntry
}

// TestRestoreAsNonRootIntoFSGroupVolume restores as the non-root user of a
// restricted namespace's restore Job (uid and gid 65532, supplementary
// group 65532 from fsGroup) into a volume prepared the way the kubelet
// prepares an fsGroup volume: owned by root, group 65532, setgid and group
// writable, with files of other users in it. The restore must succeed
// without any privilege: new files get their content, modes and times and
// belong to 65532, files of others get their content (their owner, mode
// and times cannot be changed by anyone but root), extra files are
// deleted, and owners that cannot be restored are no error.
func TestRestoreAsNonRootIntoFSGroupVolume(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the restore as another, non-root user")
	}
	ctx := testContext(t)

	// A source tree with files of several owners, snapshotted as root.
	src := t.TempDir()
	treetest.Write(t, src, 7)
	must(t, os.Lchown(filepath.Join(src, "sub/b.dat"), 1000, 1000))
	must(t, os.Lchown(filepath.Join(src, "other"), 999, 999))
	// Everything the child touches lies under base, readable by anyone.
	base, err := os.MkdirTemp("", "nonroot-restore-")
	must(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	r := testRepo{opts: RepositoryOptions{
		Storage:    StorageConfig{Local: &LocalStorage{Path: filepath.Join(base, "repo")}},
		Password:   testPassword,
		ScratchDir: t.TempDir(),
	}}
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	// The repository is readable, not writable, by the restore's user.
	must(t, filepath.WalkDir(filepath.Join(base, "repo"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		mode := st.Mode().Perm() | 0o444
		if d.IsDir() {
			mode |= 0o111
		}
		return os.Chmod(p, mode)
	}))

	// The target volume as the kubelet leaves an fsGroup volume: the root
	// and every file group 65532, group rw (rwx and setgid for
	// directories), owners unchanged (root here).
	volume := filepath.Join(base, "target", "data")
	must(t, os.MkdirAll(volume, 0o755))
	must(t, os.Chmod(filepath.Join(base, "target"), 0o755))
	foreign := map[string]string{"a.txt": "old content of a.txt\n", "stale.txt": "not in the snapshot\n"}
	must(t, os.MkdirAll(filepath.Join(volume, "sub"), 0o755))
	for name, content := range foreign {
		must(t, os.WriteFile(filepath.Join(volume, name), []byte(content), 0o640))
	}
	must(t, filepath.WalkDir(volume, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, 0, nonRootID); err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o2775)
		}
		return os.Chmod(p, 0o660)
	}))
	scratch := filepath.Join(base, "scratch")
	must(t, os.Mkdir(scratch, 0o700))
	must(t, os.Chown(scratch, nonRootID, nonRootID))
	// The test binary may lie in a directory only root can enter.
	bin := filepath.Join(base, "engine.test")
	copyFile(t, os.Args[0], bin, 0o755)

	var entries []SnapshotEntry
	for _, s := range res {
		entries = append(entries, s.SnapshotEntry)
	}
	spec, err := json.Marshal(nonRootRestore{Repo: r.opts.Storage.Local.Path, Scratch: scratch, Target: filepath.Join(base, "target"), Entries: entries})
	must(t, err)
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestRestoreAsNonRootChild$", "-test.count=1", "-test.v")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), nonRootChildEnv+"="+string(spec))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonRootID, Gid: nonRootID, Groups: []uint32{nonRootID}}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRestoreAsNonRootChild") {
		t.Fatalf("restore as uid %d: %v\n%s", nonRootID, err, out)
	}

	want, got := treetest.Scan(t, src), treetest.Scan(t, volume)
	for rel, we := range want {
		ge, ok := got[rel]
		if !ok {
			t.Errorf("%s: missing after the restore", rel)
			continue
		}
		if ge.Kind != we.Kind || ge.SHA256 != we.SHA256 || ge.Target != we.Target {
			t.Errorf("%s: content or link target differs", rel)
		}
		if rel == "a.txt" || rel == "sub" {
			continue // made by root: only root could change their mode and times
		}
		if ge.Mode != we.Mode || !ge.MTime.Equal(we.MTime) {
			t.Errorf("%s: mode %v mtime %v, want %v %v", rel, ge.Mode, ge.MTime, we.Mode, we.MTime)
		}
		st, err := os.Lstat(filepath.Join(volume, rel))
		must(t, err)
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != nonRootID || sys.Gid != nonRootID {
			t.Errorf("%s: owner %d:%d, want the restore's user and the volume's group %d:%d", rel, sys.Uid, sys.Gid, nonRootID, nonRootID)
		}
	}
	if _, ok := got["stale.txt"]; ok {
		t.Errorf("stale.txt, not in the snapshot, was not deleted")
	}
}

// TestRestoreAsNonRootChild is TestRestoreAsNonRootIntoFSGroupVolume's
// child process.
func TestRestoreAsNonRootChild(t *testing.T) {
	env := os.Getenv(nonRootChildEnv)
	if env == "" {
		t.Skip("child process of TestRestoreAsNonRootIntoFSGroupVolume")
	}
	if os.Geteuid() == 0 {
		t.Fatal("the child runs as root")
	}
	var spec nonRootRestore
	must(t, json.Unmarshal([]byte(env), &spec))
	if _, err := Restore(testContext(t), RestoreOptions{
		Repository:  RepositoryOptions{Storage: StorageConfig{Local: &LocalStorage{Path: spec.Repo}}, Password: testPassword, ScratchDir: spec.Scratch},
		Entries:     spec.Entries,
		TargetRoot:  spec.Target,
		Parallel:    2,
		DeleteExtra: true,
	}); err != nil {
		t.Fatalf("Restore as uid %d: %v", os.Geteuid(), err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	must(t, err)
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	must(t, out.Close())
}

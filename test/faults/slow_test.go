package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/internal/fstree"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// slowWorld is an S3 world whose Snapshot "snap" holds files×size bytes
// and whose restores read at rate bytes/s, so that a fault lands while
// they run.
type slowWorld struct {
	*world
	s3    *s3Peer
	src   string
	want  fstree.Tree
	files int
	// total is the Snapshot's size in bytes.
	total int64
}

// newSlowWorld is newSlowWorldOf files of size bytes each.
func newSlowWorld(t *testing.T, files, size int, rate int64) *slowWorld {
	t.Helper()
	return newSlowWorldOf(t, files, func(int) int { return size }, rate)
}

// newSlowWorldOf is a slowWorld whose file i holds size(i) bytes.
func newSlowWorldOf(t *testing.T, files int, size func(i int) int, rate int64) *slowWorld {
	t.Helper()
	s3 := startS3(t)
	w := &slowWorld{world: newS3World(t, s3.endpoint, s3Credentials(s3)), s3: s3, src: t.TempDir(), files: files}
	w.total = writeFiles(t, w.src, int64(files+size(0)), files, size)
	w.seed(t, "snap", w.src)
	w.want = framework.ScanTree(t, w.src)
	s3.setRate(rate)
	return w
}

// completeFiles returns the inode and ctime of each file of dir (a
// target) that is complete: its size and mtime are the source's.
func (w *slowWorld) completeFiles(t *testing.T, dir string) map[string]syscall.Stat_t {
	t.Helper()
	out := map[string]syscall.Stat_t{}
	_ = filepath.Walk(filepath.Join(w.src, "files"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(w.src, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, rel), &st); err != nil {
			return nil
		}
		if st.Size == info.Size() && st.Mtim.Sec == info.ModTime().Unix() {
			out[rel] = st
		}
		return nil
	})
	return out
}

// waitPartlyRestored waits until between min and files-1 files of the
// target dir are complete, and returns them.
func (w *slowWorld) waitPartlyRestored(t *testing.T, dir string, min int) map[string]syscall.Stat_t {
	t.Helper()
	var complete map[string]syscall.Stat_t
	framework.Poll(t, 2*time.Minute, "the restore to be partly done", func(context.Context) (bool, string, error) {
		complete = w.completeFiles(t, dir)
		if len(complete) >= w.files {
			return false, "", fmt.Errorf("all %d files restored before the fault: the restore is too fast", w.files)
		}
		return len(complete) >= min, fmt.Sprintf("%d of %d files complete", len(complete), w.files), nil
	})
	return complete
}

// expectUntouched fails for each file of before whose inode or ctime
// changed in dir: a resumed restore must not rewrite a complete file.
func expectUntouched(t *testing.T, dir string, before map[string]syscall.Stat_t) (untouched int) {
	t.Helper()
	for rel, st := range before {
		var now syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, rel), &now); err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if now.Ino != st.Ino || now.Ctim != st.Ctim {
			t.Errorf("%s was complete before the fault but was rewritten (inode %d -> %d, ctime %v -> %v)", rel, st.Ino, now.Ino, st.Ctim, now.Ctim)
			continue
		}
		untouched++
	}
	return untouched
}

// killExecutor SIGKILLs the executor process of pod, whose container ID
// the process kubelet sets to process://PID.
func killExecutor(t *testing.T, pod corev1.Pod) {
	t.Helper()
	id := pod.Status.ContainerStatuses[0].ContainerID
	pid, err := strconv.Atoi(strings.TrimPrefix(id, "process://"))
	if err != nil {
		t.Fatalf("pod %s: container ID %q is not process://PID", pod.Name, id)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the executor (pid %d) of pod %s: %v", pid, pod.Name, err)
	}
}

// failedPods is how many pods the restore Jobs of rs lost.
func (w *world) failedPods(t *testing.T, rs string) int32 {
	t.Helper()
	jobs, err := w.jobs(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	for _, j := range jobs {
		n += j.Status.Failed
	}
	return n
}

// testExecutorKilled (case 2): the executors of two restores are
// SIGKILLed mid-file; each Job retries, the retry resumes without
// rewriting the files that were complete (same inode and ctime), and the
// trees end identical.
func testExecutorKilled(t *testing.T) {
	f := startCase(t, 2, "executor killed")
	w := newSlowWorld(t, 24, 512<<10, 3<<20)
	names := []string{"killed-a", "killed-b"}
	for _, name := range names {
		w.claim(t, name)
		w.restore(t, name, "snap", name, `{"parallel":"2"}`)
	}
	type killed struct {
		name, dir string
		complete  map[string]syscall.Stat_t
	}
	var victims []killed
	for _, name := range names {
		pod := w.runningPod(t, name, 2*time.Minute)
		dir := framework.ClaimDir(t, c, w.ns, name)
		complete := w.waitPartlyRestored(t, dir, 3)
		killExecutor(t, pod)
		victims = append(victims, killed{name, dir, complete})
	}
	kept, retried := 0, int32(0)
	for _, v := range victims {
		rs := framework.WaitForPhase(t, restoreClient, w.ns, v.name, corev1alpha1.RestoreSucceeded, 3*time.Minute)
		expectConsistentSuccess(t, rs, w.total)
		framework.ExpectSameTree(t, v.name, w.want, v.dir)
		kept += expectUntouched(t, v.dir, v.complete)
		failed := w.failedPods(t, v.name)
		if failed < 1 {
			t.Errorf("%s: the Job lost no pod, want the killed one retried: %s", v.name, framework.DescribeStatus(rs))
		}
		retried += failed
	}
	f.add("restores", len(names))
	f.add("podsKilled", retried)
	f.add("completeFilesKept", kept)
}

// testAPIServerRestarted (case 3): kube-apiserver is stopped for 10 s
// while a restore runs and started again; the executor and the
// controller recover and the restore Succeeds with the tree identical.
func testAPIServerRestarted(t *testing.T) {
	f := startCase(t, 3, "apiserver restarted")
	w := newSlowWorld(t, 16, 1<<20, 1<<20)
	w.claim(t, "data")
	w.restore(t, "through-restart", "snap", "data", "")
	w.runningPod(t, "through-restart", 2*time.Minute)
	dir := framework.ClaimDir(t, c, w.ns, "data")
	w.waitPartlyRestored(t, dir, 1)
	const down = 10 * time.Second
	begin := time.Now()
	if err := c.RestartAPIServer(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	// Down for 10 s, then as long as the new kube-apiserver takes to be
	// ready.
	f.add("unavailable", time.Since(begin).Round(100*time.Millisecond))
	rs := framework.WaitForPhase(t, restoreClient, w.ns, "through-restart", corev1alpha1.RestoreSucceeded, 3*time.Minute)
	expectConsistentSuccess(t, rs, w.total)
	framework.ExpectSameTree(t, "restore through an apiserver restart", w.want, dir)
	f.add("podsFailed", w.failedPods(t, "through-restart"))
	f.add("phase", rs.Status.Phase)
}

// testStorageUnreachable (case 4): the S3 server is stopped for 10 s while
// a restore runs: the restore is retried and Succeeds. Then, with the
// server stopped for good, a restore with a restoreTimeout ends Failed at
// its deadline with a message naming the storage.
func testStorageUnreachable(t *testing.T) {
	f := startCase(t, 4, "storage unreachable")
	w := newSlowWorld(t, 16, 512<<10, 1<<20)
	w.claim(t, "back")
	w.restore(t, "storage-back", "snap", "back", "")
	w.runningPod(t, "storage-back", 2*time.Minute)
	dir := framework.ClaimDir(t, c, w.ns, "back")
	w.waitPartlyRestored(t, dir, 1)
	w.s3.stopServer()
	time.Sleep(10 * time.Second) // the outage itself, not a wait for a state
	if err := w.s3.startServer(); err != nil {
		t.Fatal(err)
	}
	rs := framework.WaitForPhase(t, restoreClient, w.ns, "storage-back", corev1alpha1.RestoreSucceeded, 3*time.Minute)
	expectConsistentSuccess(t, rs, w.total)
	framework.ExpectSameTree(t, "restore through a storage outage", w.want, dir)
	f.add("outage", "10s")
	f.add("podsFailed", w.failedPods(t, "storage-back"))

	const timeout = 40 * time.Second
	w.claim(t, "gone")
	w.restore(t, "storage-gone", "snap", "gone", "", func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: timeout}
	})
	w.runningPod(t, "storage-gone", 2*time.Minute)
	w.waitPartlyRestored(t, framework.ClaimDir(t, c, w.ns, "gone"), 1)
	w.s3.stopServer()
	failed := framework.WaitForPhase(t, restoreClient, w.ns, "storage-gone", corev1alpha1.RestoreFailed, timeout+time.Minute)
	text := failed.Status.Components[component].Error
	for _, cond := range failed.Status.Conditions {
		text += " " + cond.Message
	}
	if !strings.Contains(text, w.s3.endpoint) {
		t.Errorf("the Failed restore's status does not name the storage %s: %s", w.s3.endpoint, framework.DescribeStatus(failed))
	}
	f.add("storageGone", string(failed.Status.Phase))
	f.add("namesStorage", strings.Contains(text, w.s3.endpoint))
}

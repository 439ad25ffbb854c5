package engine

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// writeback keeps the page cache a restore dirties small: once dirtyBatch
// bytes were written since the last flush started, a background goroutine
// syncs the target's filesystem (syncfs), and writers wait only when
// maxDirty bytes are outstanding (the disk is slower than decryption).
// Dirty pages count against a container's memory limit, and a memory
// cgroup full of dirty pages can only wait for them (cgroup v1 crawls or
// OOM-kills), so they must reach the disk as the restore goes, not all in
// the final sync, which then has little left to do.
type writeback struct {
	fd         int // a directory on the target filesystem (owned by the caller)
	dirtyBatch int64
	maxDirty   int64

	mu      sync.Mutex
	cond    *sync.Cond
	dirty   int64 // written since the running or last flush started
	running bool
	closed  bool
	err     error // the first failed flush
}

// Writeback batch sizes: without a memory limit, a flush every 64 MiB and
// at most 256 MiB outstanding; under a limit, an eighth and a quarter of it
// (128 MiB: 16 and 32 MiB).
const (
	defaultDirtyBatch = 64 << 20
	defaultMaxDirty   = 256 << 20
	minDirtyBatch     = 4 << 20
)

// writebackSizes returns the flush batch and the outstanding bytes at which
// writers wait, for a cgroup memory limit (0: none).
func writebackSizes(memLimit int64) (batch, maxDirty int64) {
	if memLimit <= 0 {
		return defaultDirtyBatch, defaultMaxDirty
	}
	batch = min(defaultDirtyBatch, max(minDirtyBatch, memLimit/8))
	return batch, min(defaultMaxDirty, max(2*batch, memLimit/4))
}

func newWriteback(dir *os.File, memLimit int64) *writeback {
	w := &writeback{fd: int(dir.Fd())}
	w.dirtyBatch, w.maxDirty = writebackSizes(memLimit)
	w.cond = sync.NewCond(&w.mu)
	return w
}

// wrote records n bytes written to the target, starts a flush once a
// batch is dirty and waits while too much is outstanding. A failed flush is
// returned here (and by close), so the restore stops at the next write.
func (w *writeback) wrote(n int64) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dirty += n
	for {
		if w.err != nil {
			return w.err
		}
		if w.dirty >= w.dirtyBatch && !w.running {
			w.startLocked()
		}
		if w.dirty < w.maxDirty || w.closed {
			return nil
		}
		w.cond.Wait()
	}
}

// startLocked begins a background syncfs of what is dirty now.
func (w *writeback) startLocked() {
	w.running = true
	flushing := w.dirty
	go func() {
		err := unix.Syncfs(w.fd)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.running = false
		// Bytes written during the sync may or may not be on disk: count
		// them toward the next flush.
		w.dirty -= flushing
		if err != nil && w.err == nil {
			w.err = &os.PathError{Op: "syncfs", Path: "restore target", Err: err}
		}
		w.cond.Broadcast()
	}()
}

// close waits for a running flush and returns the first flush error. The
// caller's final syncfs makes everything durable.
func (w *writeback) close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for w.running {
		w.cond.Wait()
	}
	return w.err
}

// rangeWritebackBytes is how much of a file is written before its pages
// are handed to the disk (startRangeWriteback).
const rangeWritebackBytes = 8 << 20

// startRangeWriteback asks the kernel to start writing [off, off+n) of fd
// to disk without waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so a
// large file's pages are already in flight when the next flush waits for
// them. Errors are ignored: this is a hint; the flushes and the final sync
// report failures.
func startRangeWriteback(fd int, off, n int64) {
	_ = unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
}

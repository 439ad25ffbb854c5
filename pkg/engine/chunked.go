package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/repo/object"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"
)

// chunkFetcher restores file contents chunk by chunk, several chunks of a
// file at once. Kopia stores a file larger than one chunk as an index
// object (object.IndirectObjectEntry: start offset, length and object of
// every chunk) and reads it back strictly in order on one goroutine, so one
// large file is bound by one CPU decrypting. The fetcher reads the index
// itself, fetches and decrypts chunks concurrently through the repository's
// content reader and writes each at its offset (pwrite).
//
// One budget serves the whole restore: workers bounds the chunks being
// fetched or written at once, by any file (kopia's file workers and a large
// file's chunks draw from the same tokens, so small and large files both
// keep every CPU busy), and memory bounds the bytes of chunk data held at
// once, which is what a restore's memory use scales with (each chunk in
// flight costs kopia about twice its size in pooled buffers plus the
// decrypted copy).
type chunkFetcher struct {
	cr      chunkReader
	workers chan struct{}
	memory  *semaphore.Weighted
	// memoryBytes is memory's capacity: a chunk larger than it takes it all.
	memoryBytes int64
}

// chunkReader is what kopia's object package needs to read an object's
// contents (its unexported contentReader): a content.Reader plus prefetch.
type chunkReader struct {
	content.Reader
	rep repo.Repository
}

func (c chunkReader) PrefetchContents(ctx context.Context, ids []content.ID, hint string) []content.ID {
	return c.rep.PrefetchContents(ctx, ids, hint)
}

// chunkMemoryBudget is how many bytes of chunk data may be in flight at
// once: enough for every CPU (GOMAXPROCS) plus one to be decrypting a chunk
// of kopia's 4 MiB average, never less than one maximum-size chunk (8 MiB
// for kopia's default splitter) plus half an average one, and under a
// memory limit at most a sixth of it, as kopia's buffers for those bytes
// take about three times as much (two pooled copies and the decrypted
// slice GetContent returns).
func chunkMemoryBudget(memLimit int64, procs int) int64 {
	const (
		avgChunk  = 4 << 20
		minBudget = 10 << 20
		maxBudget = 64 << 20
	)
	budget := min(maxBudget, max(minBudget, avgChunk*int64(procs+1)))
	if memLimit > 0 {
		budget = max(minBudget, min(budget, memLimit/6))
	}
	return budget
}

// newChunkFetcher returns a fetcher for rep, or nil when rep cannot read
// contents directly (a repository server), where files are copied through
// kopia's object reader instead.
func newChunkFetcher(rep repo.Repository, workers int, memLimit int64) *chunkFetcher {
	if r, ok := rep.(*Repository); ok {
		rep = r.Repository // the engine's wrapper hides kopia's type
	}
	dr, ok := rep.(repo.DirectRepository)
	if !ok {
		return nil
	}
	mem := chunkMemoryBudget(memLimit, runtime.GOMAXPROCS(0))
	return &chunkFetcher{
		cr:          chunkReader{Reader: dr.ContentReader(), rep: rep},
		workers:     make(chan struct{}, max(1, workers)),
		memory:      semaphore.NewWeighted(mem),
		memoryBytes: mem,
	}
}

// errNoObjectID says a file entry does not expose its object (not a
// repository file); it is copied through its reader instead.
var errNoObjectID = errors.New("file entry has no object ID")

// chunks returns f's chunks in file order, checked to cover the file
// exactly: kopia's index object for a chunked file, one chunk otherwise.
func (cf *chunkFetcher) chunks(ctx context.Context, f kopiafs.File) ([]object.IndirectObjectEntry, error) {
	de, ok := f.(snapshot.HasDirEntry)
	if !ok || de.DirEntry() == nil {
		return nil, errNoObjectID
	}
	oid := de.DirEntry().ObjectID
	size := f.Size()
	idx, indirect := oid.IndexObjectID()
	if !indirect {
		return []object.IndirectObjectEntry{{Start: 0, Length: size, Object: oid}}, nil
	}
	entries, err := object.LoadIndexObject(ctx, cf.cr, idx)
	if err != nil {
		return nil, fmt.Errorf("reading the chunk index of %v: %w", oid, err)
	}
	var end int64
	for i, e := range entries {
		if e.Start != end || e.Length < 0 {
			return nil, fmt.Errorf("invalid index object %v: chunk %d covers [%d, +%d), want it to start at %d", oid, i, e.Start, e.Length, end)
		}
		end += e.Length
	}
	if end != size {
		return nil, fmt.Errorf("invalid index object %v: chunks cover %d bytes, the file has %d", oid, end, size)
	}
	return entries, nil
}

// acquire takes a worker token and n bytes (at most the whole budget) of
// chunk memory, waiting for both; release gives them back.
func (cf *chunkFetcher) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(max(n, 1), cf.memoryBytes)
	if err := cf.memory.Acquire(ctx, n); err != nil {
		return 0, err //nolint:wrapcheck // the context's error
	}
	select {
	case cf.workers <- struct{}{}:
		return n, nil
	case <-ctx.Done():
		cf.memory.Release(n)
		return 0, context.Cause(ctx)
	}
}

func (cf *chunkFetcher) release(n int64) {
	<-cf.workers
	cf.memory.Release(n)
}

// chunkTarget is one open target file being filled.
type chunkTarget struct {
	out *os.File
	// block > 0 writes zero blocks of that size as holes.
	block int
	// large files hand each chunk's pages to the disk once written.
	large bool
	wb    *writeback

	// progressMu serialises kopia's per-file progress callback, which is
	// not safe for concurrent use.
	progressMu sync.Mutex
	progress   restore.FileWriteProgress
}

// writeFile fills t.out (already sized) with chunks: inline for one chunk,
// else concurrently within the fetcher's budget. The first failure stops
// the rest and is returned once every started chunk is done, so the caller
// never sets attributes on, or closes, a file still being written.
func (cf *chunkFetcher) writeFile(ctx context.Context, t *chunkTarget, chunks []object.IndirectObjectEntry) error {
	if len(chunks) == 1 {
		n, err := cf.acquire(ctx, chunks[0].Length)
		if err != nil {
			return err
		}
		defer cf.release(n)
		return cf.writeChunk(ctx, t, chunks[0])
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, c := range chunks {
		n, err := cf.acquire(ctx, c.Length)
		if err != nil {
			cancel(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cf.release(n)
			if err := cf.writeChunk(ctx, t, c); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// writeChunk fetches one chunk, checks its length against the index and
// writes it at its offset.
func (cf *chunkFetcher) writeChunk(ctx context.Context, t *chunkTarget, c object.IndirectObjectEntry) error {
	if c.Length == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	data, err := cf.read(ctx, c.Object)
	if err != nil {
		return fmt.Errorf("reading snapshot data for %q at offset %d: %w", t.out.Name(), c.Start, err)
	}
	if int64(len(data)) != c.Length {
		return fmt.Errorf("invalid index: chunk %v of %q has %d bytes, the index says %d", c.Object, t.out.Name(), len(data), c.Length)
	}
	if err := writeAtSparse(t.out, data, c.Start, t.block); err != nil {
		return fmt.Errorf("writing %q: %w", t.out.Name(), err)
	}
	if t.large {
		startRangeWriteback(int(t.out.Fd()), c.Start, c.Length)
	}
	if t.progress != nil {
		t.progressMu.Lock()
		t.progress(c.Length)
		t.progressMu.Unlock()
	}
	return t.wb.wrote(c.Length)
}

// read returns the decrypted bytes of one chunk object: straight from the
// content reader for a plain content, through kopia's object reader for a
// compressed (or, in principle, nested) one.
func (cf *chunkFetcher) read(ctx context.Context, oid object.ID) ([]byte, error) {
	if cid, compressed, ok := oid.ContentID(); ok && !compressed {
		data, err := cf.cr.GetContent(ctx, cid)
		if errors.Is(err, content.ErrContentNotFound) {
			return nil, fmt.Errorf("%w: content %v not found", object.ErrObjectNotFound, cid)
		}
		return data, err //nolint:wrapcheck // the caller names the file
	}
	r, err := object.Open(ctx, cf.cr, oid)
	if err != nil {
		return nil, err //nolint:wrapcheck
	}
	defer r.Close() //nolint:errcheck
	buf := make([]byte, r.Length())
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err //nolint:wrapcheck
	}
	return buf, nil
}

// writeAtSparse writes b at offset off of out. With block > 0, whole
// blocks (aligned to the file, not to b) that are all zeros are skipped:
// the file was sized beforehand, so they read as zeros and stay holes; the
// non-zero blocks between them go out in one pwrite per run.
func writeAtSparse(out *os.File, b []byte, off int64, block int) error {
	if block <= 0 {
		_, err := out.WriteAt(b, off)
		return err //nolint:wrapcheck
	}
	fd := int(out.Fd())
	runStart := -1 // start in b of the pending non-zero run
	flush := func(end int) error {
		if runStart < 0 {
			return nil
		}
		if err := pwriteAll(fd, b[runStart:end], off+int64(runStart)); err != nil {
			return &os.PathError{Op: "write", Path: out.Name(), Err: err}
		}
		runStart = -1
		return nil
	}
	for i := 0; i < len(b); {
		n := block - int((off+int64(i))%int64(block))
		n = min(n, len(b)-i)
		// A partial block at either end is written even when zero: it
		// shares its block with a neighbouring chunk, so it is no hole.
		if n == block && isZero(b[i:i+n]) {
			if err := flush(i); err != nil {
				return err
			}
		} else if runStart < 0 {
			runStart = i
		}
		i += n
	}
	return flush(len(b))
}

// pwriteAll writes all of b at off.
func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err //nolint:wrapcheck
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

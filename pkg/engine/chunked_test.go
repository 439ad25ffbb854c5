package engine

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot/snapshotfs"
	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/internal/treetest"
)

// largeFileFixture writes dir/big: random data around a run of zeros
// (whole blocks, so a sparse restore can leave a hole), large enough for
// kopia's default splitter to store it as several chunks behind an index
// object, plus a small file next to it. It returns big's contents.
func largeFileFixture(t *testing.T, dir string) []byte {
	t.Helper()
	const (
		randomHead = 9 << 20
		zeros      = 6 << 20
		randomTail = 7<<20 + 12345
	)
	data := make([]byte, randomHead+zeros+randomTail)
	rng := rand.NewChaCha8([32]byte{17})
	_, _ = rng.Read(data[:randomHead])
	_, _ = rng.Read(data[randomHead+zeros:])
	must(t, os.WriteFile(filepath.Join(dir, "big"), data, 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "small"), []byte("small file"), 0o600))
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, n := range []string{"big", "small"} {
		must(t, os.Chtimes(filepath.Join(dir, n), mtime, mtime))
	}
	return data
}

func TestRestoreLargeFileChunkParallel(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	data := largeFileFixture(t, src)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	rep := r.open(t, ctx)

	// The fixture must take the chunk-parallel path: an index object of
	// several chunks that covers the file exactly.
	fetcher := newChunkFetcher(rep, 2, 0)
	if fetcher == nil {
		t.Fatal("newChunkFetcher returned nil for a direct repository")
	}
	entry, err := snapshotfs.FilesystemEntryFromIDWithPath(ctx, rep, res[0].SnapshotID+"/big", false)
	must(t, err)
	file, ok := entry.(kopiafs.File)
	if !ok {
		t.Fatalf("snapshot entry big is a %T, want a file", entry)
	}
	chunks, err := fetcher.chunks(ctx, file)
	must(t, err)
	if len(chunks) < 3 {
		t.Fatalf("fixture stored as %d chunks, want several", len(chunks))
	}

	for _, tc := range []struct {
		name     string
		parallel int
		sparse   bool
	}{
		{name: "one worker", parallel: 1},
		{name: "default workers", parallel: 0},
		{name: "sparse", parallel: 4, sparse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := t.TempDir()
			opts := r.restoreOpts(target, res)
			opts.Parallel = tc.parallel
			opts.Sparse = tc.sparse
			var mu sync.Mutex
			var last Progress
			reports := 0
			opts.Progress = func(p Progress) {
				mu.Lock()
				defer mu.Unlock()
				if p.RestoredBytes < last.RestoredBytes {
					t.Errorf("progress went back from %d to %d bytes", last.RestoredBytes, p.RestoredBytes)
				}
				last = p
				reports++
			}
			got, err := RestoreFromRepository(ctx, rep, opts)
			if err != nil {
				t.Fatalf("RestoreFromRepository: %v", err)
			}
			treetest.Compare(t, src, filepath.Join(target, "data"))
			restored, err := os.ReadFile(filepath.Join(target, "data", "big"))
			must(t, err)
			if !bytes.Equal(restored, data) {
				t.Fatal("restored big file differs from the source")
			}
			if got.RestoredBytes != got.TotalBytes || got.TotalBytes != int64(len(data))+int64(len("small file")) || got.RestoredFiles != 2 {
				t.Errorf("result %+v, want every byte of both files restored", got.Progress)
			}
			if reports < len(chunks) {
				t.Errorf("%d progress reports, want one per chunk at least (%d chunks)", reports, len(chunks))
			}
			var st unix.Stat_t
			must(t, unix.Stat(filepath.Join(target, "data", "big"), &st))
			allocated := st.Blocks * 512
			if tc.sparse && allocated > int64(len(data))-4<<20 {
				t.Errorf("sparse restore allocated %d bytes of %d, want the 6 MiB zero run left as a hole", allocated, len(data))
			}
			if !tc.sparse && allocated < int64(len(data)) {
				t.Errorf("non-sparse restore allocated %d bytes of %d", allocated, len(data))
			}
		})
	}
}

// TestRestoreResumeFinishesPartlyWrittenLargeFile cancels a restore in the
// middle of the large file's chunks: the file is left at its full size
// with some chunks written and a fresh mtime, so a resumed restore must
// redo it, not skip it.
func TestRestoreResumeFinishesPartlyWrittenLargeFile(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	largeFileFixture(t, src)
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})
	rep := r.open(t, ctx)
	target := t.TempDir()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := r.restoreOpts(target, res)
	opts.Parallel = 1
	opts.ProgressInterval = 0
	opts.Progress = func(p Progress) {
		if p.RestoredBytes > 0 && p.RestoredBytes < p.TotalBytes-int64(len("small file")) {
			cancel()
		}
	}
	first, err := RestoreFromRepository(cctx, rep, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first restore: %v, want context.Canceled", err)
	}
	if first.RestoredBytes >= first.TotalBytes {
		t.Fatalf("first restore wrote everything (%+v), want it stopped inside the large file", first.Progress)
	}

	opts = r.restoreOpts(target, res)
	opts.Resume = true
	second, err := RestoreFromRepository(ctx, rep, opts)
	if err != nil {
		t.Fatalf("resumed restore: %v", err)
	}
	treetest.Compare(t, src, filepath.Join(target, "data"))
	if second.RestoredBytes != second.TotalBytes {
		t.Errorf("resumed restore %+v, want every byte in place", second.Progress)
	}
}

func TestWriteAtSparse(t *testing.T) {
	const block = 4096
	rng := rand.NewChaCha8([32]byte{3})
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		off  int64
		data []byte
		// holes is the least number of bytes that must stay unallocated.
		holes int64
	}{
		{name: "all data", off: 0, data: random(3 * block)},
		{name: "aligned zero blocks", off: 0, data: cat(random(block), make([]byte, 64*block), random(10))},
		{name: "unaligned start", off: 100, data: cat(random(block), make([]byte, 64*block), random(block))},
		{name: "only zeros", off: block, data: make([]byte, 64*block)},
		{name: "zero tail shorter than a block", off: 0, data: cat(random(block), make([]byte, block-1))},
	}
	for _, tc := range tests {
		for _, sparse := range []bool{false, true} {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			must(t, err)
			size := tc.off + int64(len(tc.data)) + 3
			must(t, f.Truncate(size))
			b := 0
			if sparse {
				b = block
			}
			if err := writeAtSparse(f, tc.data, tc.off, b); err != nil {
				t.Fatalf("%s: writeAtSparse: %v", tc.name, err)
			}
			must(t, f.Sync())
			got, err := os.ReadFile(f.Name())
			must(t, err)
			want := make([]byte, size)
			copy(want[tc.off:], tc.data)
			if !bytes.Equal(got, want) {
				t.Errorf("%s (sparse %v): file contents differ", tc.name, sparse)
			}
			var st unix.Stat_t
			must(t, unix.Fstat(int(f.Fd()), &st))
			if zeroRun := int64(64 * block); sparse && len(tc.data) > 64*block && st.Blocks*512 > size-zeroRun+2*block {
				t.Errorf("%s: %d bytes allocated for %d, want the zero run left as a hole", tc.name, st.Blocks*512, size)
			}
			f.Close() //nolint:errcheck
		}
	}
}

func TestChunkMemoryBudget(t *testing.T) {
	tests := []struct {
		memLimit int64
		procs    int
		want     int64
	}{
		{memLimit: 0, procs: 2, want: 12 << 20},
		{memLimit: 0, procs: 1, want: 10 << 20},
		{memLimit: 0, procs: 64, want: 64 << 20},
		{memLimit: 128 << 20, procs: 2, want: 12 << 20},
		{memLimit: 128 << 20, procs: 16, want: 128 << 20 / 6},
		{memLimit: 32 << 20, procs: 2, want: 10 << 20},
	}
	for _, tc := range tests {
		if got := chunkMemoryBudget(tc.memLimit, tc.procs); got != tc.want {
			t.Errorf("chunkMemoryBudget(%d, %d) = %d, want %d", tc.memLimit, tc.procs, got, tc.want)
		}
	}
}

func TestWritebackSizes(t *testing.T) {
	tests := []struct {
		memLimit        int64
		batch, maxDirty int64
	}{
		{memLimit: 0, batch: 64 << 20, maxDirty: 256 << 20},
		{memLimit: 128 << 20, batch: 16 << 20, maxDirty: 32 << 20},
		{memLimit: 16 << 20, batch: 4 << 20, maxDirty: 8 << 20},
		{memLimit: 64 << 30, batch: 64 << 20, maxDirty: 256 << 20},
	}
	for _, tc := range tests {
		batch, maxDirty := writebackSizes(tc.memLimit)
		if batch != tc.batch || maxDirty != tc.maxDirty {
			t.Errorf("writebackSizes(%d) = %d, %d; want %d, %d", tc.memLimit, batch, maxDirty, tc.batch, tc.maxDirty)
		}
	}
}

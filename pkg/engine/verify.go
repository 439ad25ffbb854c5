package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	kopiafs "github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/repo/object"
	"github.com/kopia/kopia/repo/splitter"
	"golang.org/x/sys/unix"
)

// Verification (CheckOptions.Verify): after a restore has written and
// synced its roots, every restored regular file is read back from the
// target and its kopia object ID recomputed with the repository's own
// splitter and keyed hash (objectHasher), so a file restored byte for
// byte gets exactly the object ID the snapshot recorded, however many
// chunks it has. Its permission bits, size and mtime are
// compared too, and every symlink's target.
//
// Object IDs do not depend on compression when the repository compresses
// at the content level (kopia's format since v0.9); repositories of older
// formats compress whole objects, and their compressed files report a
// mismatch.

// Verification is what verifying a restore found.
type Verification struct {
	// Files and Bytes verified (regular files read back and hashed).
	Files int64
	Bytes int64
	// Symlinks whose targets were compared.
	Symlinks int64
	// Mismatches counts the entries that differ from the snapshot;
	// FirstMismatches names the first maxReportedMismatches of them,
	// "path: what differs".
	Mismatches      int64
	FirstMismatches []string
}

// maxReportedMismatches bounds the paths a Verification names.
const maxReportedMismatches = 10

// verifyRoots verifies every root after the restore; any mismatch makes
// it return ErrVerificationFailed with the Verification.
func verifyRoots(ctx context.Context, rep repo.Repository, roots []restoreRoot, opts RestoreOptions) (*Verification, error) {
	hasher, err := newObjectHasher(rep)
	if err != nil {
		return nil, err
	}
	v := &verifier{hasher: hasher, result: &Verification{}}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel()
	}
	for _, r := range roots {
		if err := v.root(ctx, r, parallel); err != nil {
			return v.result, classifyRestoreError(fmt.Errorf("verifying %s in %q: %w", r.label, r.target, err))
		}
	}
	if n := v.result.Mismatches; n > 0 {
		return v.result, fmt.Errorf("%w: %d of %d restored entries differ, first: %s", ErrVerificationFailed,
			n, v.result.Files+v.result.Symlinks, strings.Join(v.result.FirstMismatches, "; "))
	}
	return v.result, nil
}

type verifier struct {
	hasher *objectHasher
	mu     sync.Mutex
	result *Verification
}

// verifyJob is one file or symlink to check: rel is its slash-separated
// path below the root directory.
type verifyJob struct {
	rel   string
	entry kopiafs.Entry
}

// root verifies one restore root with parallel workers.
func (v *verifier) root(ctx context.Context, r restoreRoot, parallel int) error {
	dirPath := r.target
	entry := r.filter.wrapWithMTime(r.entry, r.snapRel, r.mtime)
	var jobs []verifyJob
	if !r.entry.IsDir() {
		dirPath = filepath.Dir(r.target)
		jobs = append(jobs, verifyJob{rel: filepath.Base(r.target), entry: entry})
	} else if d, ok := entry.(kopiafs.Directory); ok {
		var err error
		if jobs, err = collectVerifyJobs(ctx, d, "", jobs); err != nil {
			return err
		}
	}
	dir, err := openExistingBeneath(r.boundary, dirPath)
	if err != nil {
		return err
	}
	if dir == nil {
		return fmt.Errorf("%w: %q does not exist after the restore", ErrVerificationFailed, dirPath)
	}
	defer dir.Close() //nolint:errcheck

	work := make(chan verifyJob)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if err := v.check(ctx, dir, j); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var firstErr error
feed:
	for _, j := range jobs {
		select {
		case work <- j:
		case firstErr = <-errs:
			break feed
		case <-ctx.Done():
			firstErr = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if firstErr == nil {
		firstErr = <-errs
	}
	return firstErr
}

// collectVerifyJobs lists the files and symlinks under d (rel).
func collectVerifyJobs(ctx context.Context, d kopiafs.Directory, rel string, jobs []verifyJob) ([]verifyJob, error) {
	err := kopiafs.IterateEntries(ctx, d, func(ctx context.Context, e kopiafs.Entry) error {
		childRel := path.Join(rel, e.Name())
		switch e := e.(type) {
		case kopiafs.Directory:
			var err error
			jobs, err = collectVerifyJobs(ctx, e, childRel, jobs)
			return err
		case kopiafs.File, kopiafs.Symlink:
			jobs = append(jobs, verifyJob{rel: childRel, entry: e})
		}
		return nil
	})
	return jobs, err //nolint:wrapcheck
}

// check compares one restored entry with the snapshot's. A difference is
// recorded, not returned: only failures to read are errors.
func (v *verifier) check(ctx context.Context, root *os.File, j verifyJob) error {
	dirRel, name := splitRel(j.rel)
	if !strings.Contains(j.rel, "/") {
		dirRel = ""
	}
	parent, err := openDirBeneath(root, dirRel)
	if err != nil {
		return err
	}
	defer parent.Close() //nolint:errcheck
	st, exists, err := lstatAt(parent, name)
	if err != nil {
		return err
	}
	if !exists {
		v.mismatch(j, "missing")
		return nil
	}
	if l, ok := j.entry.(kopiafs.Symlink); ok {
		want, err := l.Readlink(ctx)
		if err != nil {
			return fmt.Errorf("reading link target of %q in the snapshot: %w", j.rel, err)
		}
		v.count(0, 0, 1)
		if fileType(&st) != unix.S_IFLNK {
			v.mismatch(j, "not a symlink")
			return nil
		}
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(int(parent.Fd()), name, buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: filepath.Join(parent.Name(), name), Err: err}
		}
		if got := string(buf[:n]); got != want {
			v.mismatch(j, fmt.Sprintf("symlink target %q, snapshot has %q", got, want))
		}
		return nil
	}
	f := j.entry.(kopiafs.File) //nolint:forcetypeassert // collectVerifyJobs lists files and symlinks only
	if fileType(&st) != unix.S_IFREG {
		v.count(1, 0, 0)
		v.mismatch(j, "not a regular file")
		return nil
	}
	var diffs []string
	if st.Size != f.Size() {
		diffs = append(diffs, fmt.Sprintf("size %d, snapshot has %d", st.Size, f.Size()))
	}
	if want := unixPerm(f.Mode() & kopiafs.ModBits); st.Mode&0o7777 != want {
		diffs = append(diffs, fmt.Sprintf("mode %#o, snapshot has %#o", st.Mode&0o7777, want))
	}
	if got := statMTime(&st); !got.Equal(f.ModTime()) {
		diffs = append(diffs, fmt.Sprintf("mtime %s, snapshot has %s", got.UTC().Format("2006-01-02T15:04:05.999999999Z"), f.ModTime().UTC().Format("2006-01-02T15:04:05.999999999Z")))
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(parent.Name(), name), Err: err}
	}
	in := os.NewFile(uintptr(fd), filepath.Join(parent.Name(), name))
	defer in.Close() //nolint:errcheck
	got, n, err := v.hasher.objectID(in)
	if err != nil {
		return err
	}
	v.count(1, n, 0)
	if want, ok := snapshotObjectID(f); !ok {
		diffs = append(diffs, "the snapshot records no object ID")
	} else if got != want {
		diffs = append(diffs, fmt.Sprintf("content object ID %s, snapshot has %s", got, want))
	}
	if len(diffs) > 0 {
		v.mismatch(j, strings.Join(diffs, ", "))
	}
	return nil
}

func (v *verifier) count(files, bytes, symlinks int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.result.Files += files
	v.result.Bytes += bytes
	v.result.Symlinks += symlinks
}

func (v *verifier) mismatch(j verifyJob, what string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.result.Mismatches++
	if len(v.result.FirstMismatches) < maxReportedMismatches {
		v.result.FirstMismatches = append(v.result.FirstMismatches, j.rel+": "+what)
	}
}

// snapshotObjectID is the object ID the snapshot recorded for f.
func snapshotObjectID(f kopiafs.File) (object.ID, bool) {
	h, ok := f.(object.HasObjectID)
	if !ok {
		return object.EmptyID, false
	}
	return h.ObjectID(), true
}

// objectHasher computes the kopia object ID local data would get in the
// repository, as kopia's object writer does (repo/object, v0.21.1): the
// data is cut at the repository splitter's split points (a file is one
// chunk at least, an empty one too), each chunk's content ID is the
// repository's keyed hash of it; one chunk's object ID is its content ID,
// more chunks' is "I" and the object ID of their index (the JSON kopia
// writes, itself hashed this way with the "x" prefix). Nothing is written.
type objectHasher struct {
	newSplitter splitter.Factory
	// hash is the repository's content hash function. Its data parameter
	// is kopia's internal gather.Bytes, which cannot be named here: it is
	// called through reflection with that struct's exported Slices field.
	hash      reflect.Value
	bytesType reflect.Type
}

func newObjectHasher(rep repo.Repository) (*objectHasher, error) {
	if r, ok := rep.(*Repository); ok {
		rep = r.Repository
	}
	dr, ok := rep.(repo.DirectRepository)
	if !ok {
		return nil, fmt.Errorf("verify: the repository (%T) gives no access to its format", rep)
	}
	name := dr.ObjectFormat().Splitter
	if name == "" {
		name = "FIXED" // kopia's default for an unset splitter
	}
	f := splitter.GetFactory(name)
	if f == nil {
		return nil, fmt.Errorf("verify: the repository's splitter %q is unknown", name)
	}
	hf := reflect.ValueOf(dr.ContentReader().ContentFormat().HashFunc())
	if hf.Kind() != reflect.Func || hf.Type().NumIn() != 2 || hf.Type().In(1).Kind() != reflect.Struct {
		return nil, fmt.Errorf("verify: unexpected hash function type %s", hf.Type())
	}
	bt := hf.Type().In(1)
	if sf, ok := bt.FieldByName("Slices"); !ok || sf.Type != reflect.TypeOf([][]byte(nil)) {
		return nil, fmt.Errorf("verify: hash function input %s has no Slices field", bt)
	}
	return &objectHasher{newSplitter: f, hash: hf, bytesType: bt}, nil
}

// contentID is the content ID data gets with prefix.
func (h *objectHasher) contentID(prefix content.IDPrefix, data []byte) (content.ID, error) {
	in := reflect.New(h.bytesType).Elem()
	in.FieldByName("Slices").Set(reflect.ValueOf([][]byte{data}))
	out := h.hash.Call([]reflect.Value{reflect.ValueOf([]byte(nil)), in})
	id, err := content.IDFromHash(prefix, out[0].Bytes())
	if err != nil {
		return content.EmptyID, fmt.Errorf("content ID: %w", err)
	}
	return id, nil
}

// objectID reads r to its end and returns its object ID and length.
func (h *objectHasher) objectID(r io.Reader) (object.ID, int64, error) {
	return h.streamID(r, "")
}

// indexObject is kopia's index of a chunked object (object_reader.go's
// indirectObject), encoded the way its writer encodes it.
type indexObject struct {
	StreamID string                       `json:"stream"`
	Entries  []object.IndirectObjectEntry `json:"entries"`
}

func (h *objectHasher) streamID(r io.Reader, prefix content.IDPrefix) (object.ID, int64, error) {
	sp := h.newSplitter()
	defer sp.Close()
	bp := copyBuffers.Get().(*[]byte) //nolint:forcetypeassert
	defer copyBuffers.Put(bp)
	var chunk []byte
	var entries []object.IndirectObjectEntry
	var pos int64
	flush := func() error {
		cid, err := h.contentID(prefix, chunk)
		if err != nil {
			return err
		}
		entries = append(entries, object.IndirectObjectEntry{Start: pos, Length: int64(len(chunk)), Object: object.DirectObjectID(cid)})
		pos += int64(len(chunk))
		chunk = chunk[:0]
		return nil
	}
	for {
		n, rerr := r.Read(*bp)
		data := (*bp)[:n]
		for len(data) > 0 {
			at := sp.NextSplitPoint(data)
			if at < 0 {
				chunk = append(chunk, data...)
				break
			}
			chunk = append(chunk, data[:at]...)
			if err := flush(); err != nil {
				return object.EmptyID, pos, err
			}
			data = data[at:]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return object.EmptyID, pos, fmt.Errorf("reading: %w", rerr)
		}
	}
	if len(chunk) > 0 || len(entries) == 0 {
		if err := flush(); err != nil {
			return object.EmptyID, pos, err
		}
	}
	if len(entries) == 1 {
		return entries[0].Object, pos, nil
	}
	var index bytes.Buffer
	if err := json.NewEncoder(&index).Encode(indexObject{StreamID: "kopia:indirect", Entries: entries}); err != nil {
		return object.EmptyID, pos, fmt.Errorf("encoding the chunk index: %w", err)
	}
	indexPrefix := prefix
	if indexPrefix == "" {
		indexPrefix = indexContentPrefix
	}
	iid, _, err := h.streamID(&index, indexPrefix)
	if err != nil {
		return object.EmptyID, pos, err
	}
	id, err := object.ParseID("I" + iid.String())
	if err != nil {
		return object.EmptyID, pos, fmt.Errorf("index object ID: %w", err)
	}
	return id, pos, nil
}

// indexContentPrefix is the content prefix kopia gives the index of a
// chunked file, so that it is packed with the metadata.
const indexContentPrefix content.IDPrefix = "x"

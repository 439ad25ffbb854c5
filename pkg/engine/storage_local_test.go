package engine

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kopia/kopia/repo/blob"
)

// blobBytes is a blob.Bytes of one slice.
type blobBytes []byte

func (b blobBytes) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}
func (b blobBytes) Length() int { return len(b) }
func (b blobBytes) Reader() io.ReadSeekCloser {
	return struct {
		*bytes.Reader
		io.Closer
	}{bytes.NewReader(b), io.NopCloser(nil)}
}

// blobBuffer is a blob.OutputBuffer.
type blobBuffer struct{ bytes.Buffer }

func (b *blobBuffer) Length() int { return b.Len() }

// A local storage is a directory: created only when asked, and holding the
// blobs written through it across openings.
func TestOpenStorageLocal(t *testing.T) {
	ctx := testContext(t)
	dir := filepath.Join(t.TempDir(), "backups", "repo")
	cfg := StorageConfig{Local: &LocalStorage{Path: dir}}

	if _, err := OpenStorage(ctx, cfg, false); !errors.Is(err, ErrStorageUnreachable) {
		t.Fatalf("OpenStorage of a missing directory: %v, want ErrStorageUnreachable", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("opening without create made %s (%v)", dir, err)
	}
	if _, err := OpenStorage(ctx, StorageConfig{Local: &LocalStorage{}}, true); err == nil || errors.Is(err, ErrStorageUnreachable) {
		t.Errorf("OpenStorage without a path: %v, want a config error", err)
	}

	st, err := OpenStorage(ctx, cfg, true)
	must(t, err)
	want := []byte("blob content")
	must(t, st.PutBlob(ctx, "xabc123", blobBytes(want), blob.PutOptions{}))
	must(t, st.Close(ctx))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("OpenStorage(create) left no directory %s: %v", dir, err)
	}

	st, err = OpenStorage(ctx, cfg, false)
	must(t, err)
	defer st.Close(ctx) //nolint:errcheck
	var got blobBuffer
	must(t, st.GetBlob(ctx, "xabc123", 0, -1, &got))
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("blob read back %q, want %q", got.Bytes(), want)
	}
}

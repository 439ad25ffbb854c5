package engine

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restore-controller/restore/internal/treetest"
)

// TestVerifyRecomputesObjectIDs: a verified restore reads every file back
// and gets the snapshot's kopia object IDs, a file of many chunks (an
// index object) included; a resumed restore, which skips files whose size
// and mtime match, then catches a file changed in place (same size and
// mtime), a changed mode and a changed symlink, and fails with
// ErrVerificationFailed naming them.
func TestVerifyRecomputesObjectIDs(t *testing.T) {
	ctx := testContext(t)
	r := newTestRepo(t)
	src := t.TempDir()
	treetest.Write(t, src, 5)
	// 24 MiB of random bytes: several chunks with any of kopia's splitters.
	big := make([]byte, 24<<20)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	must(t, os.WriteFile(filepath.Join(src, "chunked.bin"), big, 0o600))
	res := r.snapshot(t, ctx, SnapshotSource{Dir: src, HostPath: "/data"})

	target := t.TempDir()
	opts := r.restoreOpts(target, res)
	opts.Verify = true
	got, err := Restore(ctx, opts)
	if err != nil {
		t.Fatalf("verified restore: %v", err)
	}
	v := got.Verification
	if v == nil || v.Files != treetest.WriteFiles+1 || v.Bytes != got.TotalBytes || v.Mismatches != 0 || v.Symlinks == 0 {
		t.Fatalf("verification %+v, want %d files and %d bytes verified, symlinks compared, no mismatch", v, treetest.WriteFiles+1, got.TotalBytes)
	}

	// Change the restored tree behind resume's back.
	data := filepath.Join(target, "data")
	chunked := filepath.Join(data, "chunked.bin")
	st, err := os.Stat(chunked)
	must(t, err)
	f, err := os.OpenFile(chunked, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte{big[12<<20] ^ 0xff}, 12<<20)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(chunked, st.ModTime(), st.ModTime()))
	must(t, os.Chmod(filepath.Join(data, "a.txt"), 0o777))

	opts.Resume = true
	got, err = Restore(ctx, opts)
	if !errors.Is(err, ErrVerificationFailed) {
		t.Fatalf("verified resumed restore of a changed tree: %v, want ErrVerificationFailed", err)
	}
	v = got.Verification
	if v == nil || v.Mismatches != 2 || len(v.FirstMismatches) != 2 {
		t.Fatalf("verification %+v, want 2 mismatches named", v)
	}
	joined := strings.Join(v.FirstMismatches, "\n")
	for _, want := range []string{"chunked.bin: content object ID", "a.txt: mode 0777, snapshot has 0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("mismatches %q do not name %q", v.FirstMismatches, want)
		}
	}
	for _, want := range []string{"2 of ", "chunked.bin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

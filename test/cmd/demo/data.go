package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// The sample data looks like a small database server's volume: config,
// table files, a write-ahead log, a large blob, daily logs, an executable,
// a private key, an empty directory and two symlinks. Each replica's data
// differs; generation 2 is generation 1 a day later: the WAL grew, some
// table parts and the config changed, the oldest log was rotated away.
// Contents and mtimes are derived from (replica, path, version), so every
// run writes the same bytes.

const replicas = 3

// epoch is the mtime base of generation 1.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type sampleFile struct {
	path    string
	size    int
	mode    fs.FileMode
	text    bool
	version int // contents change when the version does
}

func sampleFiles(replica, gen int) []sampleFile {
	var files []sampleFile
	add := func(path string, size int, mode fs.FileMode, text bool, version int) {
		files = append(files, sampleFile{path: path, size: size, mode: mode, text: text, version: version})
	}
	changed := func(yes bool) int {
		if yes && gen == 2 {
			return 2
		}
		return 1
	}
	add("config/app.yaml", 900+replica*40, 0o644, true, changed(true))
	add("bin/entrypoint.sh", 400, 0o755, true, 1)
	add("secrets/tls.key", 1700, 0o600, true, 1)
	for t := range 8 {
		for p := range 25 {
			// 512 B to ~24 KiB, fixed per path.
			size := 512 + int(seed(replica, fmt.Sprint("size", t, p), 1)%(24<<10))
			add(fmt.Sprintf("db/tables/t%02d/part-%03d.dat", t, p), size, 0o640, false, changed(p%10 == 0))
		}
	}
	wal := 10
	if gen == 2 {
		wal = 12
	}
	for i := range wal {
		add(fmt.Sprintf("db/wal/%06d.log", i), 256<<10, 0o640, false, changed(i >= 7))
	}
	add("blobs/large.bin", 3<<19+replica*(64<<10), 0o644, false, 1)
	for d := 1; d <= 20; d++ {
		if gen == 2 && d == 1 {
			continue // rotated away
		}
		add(fmt.Sprintf("logs/2024-01-%02d.log", d), 3000+d*50, 0o644, true, 1)
	}
	if gen == 2 {
		add("logs/2024-01-21.log", 4100, 0o644, true, 2)
	}
	return files
}

// seed derives a 64-bit seed from the replica, a name and a version.
func seed(replica int, name string, version int) uint64 {
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%d", replica, name, version))
	return binary.LittleEndian.Uint64(h[:8])
}

// writeSampleData replaces dir with both generations of every replica's
// data and replica 1's pre-restore state.
func writeSampleData(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	var files, bytes int64
	for gen := 1; gen <= 2; gen++ {
		for r := range replicas {
			root := filepath.Join(dir, fmt.Sprintf("gen-%d", gen), fmt.Sprintf("pod-%d", r))
			n, b, err := writeReplica(root, r, gen)
			if err != nil {
				return err
			}
			files += n
			bytes += b
		}
	}
	// Replica 1 is not restored: its own data must survive untouched.
	state := filepath.Join(dir, "app-state", "pod-1")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	marker := filepath.Join(state, "written-by-replica-1.txt")
	if err := os.WriteFile(marker, []byte("replica 1's own data: a restore of pod-0 and pod-2 must leave it alone\n"), 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(marker, epoch, epoch.Add(72*time.Hour)); err != nil {
		return err
	}
	fmt.Printf("sample data: %d files, %.1f MiB in %s\n", files, float64(bytes)/(1<<20), dir)
	return nil
}

func writeReplica(root string, replica, gen int) (files, bytes int64, err error) {
	for i, f := range sampleFiles(replica, gen) {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, 0, err
		}
		if err := writeFile(p, f, replica); err != nil {
			return 0, 0, err
		}
		mtime := epoch.Add(time.Duration(f.version-1)*24*time.Hour + time.Duration(i)*time.Second)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return 0, 0, err
		}
		files++
		bytes += int64(f.size)
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o777); err != nil {
		return 0, 0, err
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777); err != nil { // umask-proof
		return 0, 0, err
	}
	if err := os.Symlink("db/wal", filepath.Join(root, "current-wal")); err != nil {
		return 0, 0, err
	}
	if err := os.Symlink("app.yaml", filepath.Join(root, "config", "active.yaml")); err != nil {
		return 0, 0, err
	}
	return files, bytes, nil
}

func writeFile(path string, f sampleFile, replica int) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.mode)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	rng := rand.New(rand.NewChaCha8(sha256.Sum256(fmt.Appendf(nil, "%d|%s|%d", replica, f.path, f.version))))
	if f.text {
		err = writeText(w, rng, f, replica)
	} else {
		_, err = io.CopyN(w, rngReader{rng}, int64(f.size))
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chmod(path, f.mode) // umask-proof
}

var words = []string{"restore", "replica", "volume", "snapshot", "kopia", "shard", "index", "commit",
	"checkpoint", "segment", "query", "lease", "ok", "flush", "compact", "vacuum"}

// writeText writes exactly f.size bytes of log-like lines.
func writeText(w io.Writer, rng *rand.Rand, f sampleFile, replica int) error {
	line := fmt.Appendf(nil, "# %s of replica %d, version %d\n", f.path, replica, f.version)
	written := 0
	for written < f.size {
		if len(line) > f.size-written {
			line = line[:f.size-written]
		}
		n, err := w.Write(line)
		if err != nil {
			return err
		}
		written += n
		line = fmt.Appendf(line[:0], "%06d %s %s %s %d\n", written, words[rng.IntN(len(words))],
			words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(1_000_000))
	}
	return nil
}

type rngReader struct{ r *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.r.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

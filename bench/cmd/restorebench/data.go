package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// dataset is one shape of data every leg restores.
type dataset struct {
	name  string
	about string
	gen   func(dir string, scale float64) error
}

var datasets = []dataset{
	{"large", "one 1 GiB file", genLarge},
	{"small", "20,000 files of 0.5-8 KiB in 100 directories", genSmall},
	{"mixed", "2,000 files 1 KiB-16 MiB, nested, symlinks, empty dirs", genMixed},
}

// All file contents are pseudo-random (ChaCha8, fixed seeds): incompressible
// and without duplicates, so neither kopia nor restic can shortcut the work
// by deduplication or compression.

// fixedTime is the mtime of every generated entry, so a restore that loses
// mtimes shows up in verification.
var fixedTime = time.Date(2024, 5, 17, 10, 30, 0, 123456789, time.UTC)

func scaled(n int, scale float64, min int) int {
	v := int(float64(n) * scale)
	if v < min {
		return min
	}
	return v
}

func writeRandomFile(path string, size int64, seed uint64, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8(key), size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chtimes(path, fixedTime, fixedTime)
}

func genLarge(dir string, scale float64) error {
	size := int64(float64(1<<30) * scale)
	if size < 1<<20 {
		size = 1 << 20
	}
	return writeRandomFile(filepath.Join(dir, "disk.img"), size, 1, 0o644)
}

func genSmall(dir string, scale float64) error {
	n := scaled(20000, scale, 100)
	rng := rand.New(rand.NewPCG(2, 2))
	perDir := 200
	for i := 0; i < n; i++ {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/perDir))
		if i%perDir == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		size := 512 + rng.Int64N(8*1024-512)
		if err := writeRandomFile(filepath.Join(d, fmt.Sprintf("f%05d.dat", i)), size, uint64(1000+i), 0o644); err != nil {
			return err
		}
	}
	return fixDirTimes(dir)
}

func genMixed(dir string, scale float64) error {
	n := scaled(2000, scale, 50)
	rng := rand.New(rand.NewPCG(3, 3))
	var dirs []string
	for a := 0; a < 4; a++ {
		for b := 0; b < 5; b++ {
			for c := 0; c < 3; c++ {
				dirs = append(dirs, filepath.Join(dir, fmt.Sprintf("a%d", a), fmt.Sprintf("b%d", b), fmt.Sprintf("c%d", c)))
			}
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var files []string
	for i := 0; i < n; i++ {
		var size int64
		switch r := rng.IntN(100); {
		case r < 2: // 2%: 4-16 MiB
			size = 4<<20 + rng.Int64N(12<<20)
		case r < 20: // 18%: 32 KiB-2 MiB
			size = 32<<10 + rng.Int64N(2<<20-32<<10)
		case r < 22: // 2%: empty
			size = 0
		default: // 78%: 1-32 KiB
			size = 1<<10 + rng.Int64N(31<<10)
		}
		mode := os.FileMode(0o644)
		switch i % 50 {
		case 7:
			mode = 0o600
		case 13:
			mode = 0o755
		}
		p := filepath.Join(dirs[rng.IntN(len(dirs))], fmt.Sprintf("file-%05d.bin", i))
		if err := writeRandomFile(p, size, uint64(100000+i), mode); err != nil {
			return err
		}
		files = append(files, p)
	}
	for i := 0; i < 20; i++ {
		target, err := filepath.Rel(dir, files[rng.IntN(len(files))])
		if err != nil {
			return err
		}
		link := filepath.Join(dir, fmt.Sprintf("link-%02d", i))
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	for i := 0; i < 10; i++ {
		if err := os.MkdirAll(filepath.Join(dir, "empty", fmt.Sprintf("e%d", i)), 0o750); err != nil {
			return err
		}
	}
	return fixDirTimes(dir)
}

// fixDirTimes sets every directory's mtime (deepest first) once its
// contents exist.
func fixDirTimes(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i], fixedTime, fixedTime); err != nil {
			return err
		}
	}
	return nil
}

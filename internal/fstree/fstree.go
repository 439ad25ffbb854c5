// Package fstree records a directory tree (types, permission bits, sizes,
// mtimes, SHA-256 of contents, symlink targets) and compares two records,
// so tests, the demo and the benchmark can prove a restore wrote exactly
// the source.
package fstree

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Kind is the type of a tree entry.
type Kind string

const (
	Dir     Kind = "dir"
	File    Kind = "file"
	Symlink Kind = "symlink"
)

// Entry is one path of a tree.
type Entry struct {
	Kind Kind
	// Mode is the permission bits of files and directories.
	Mode fs.FileMode
	// MTime is the entry's own modification time (a symlink's, not its
	// target's). Diff compares it for regular files, and for directories
	// and symlinks only when asked to (Options.AllMTimes).
	MTime time.Time
	// Size and SHA256 are set for regular files.
	Size   int64
	SHA256 string
	// Target is a symlink's target.
	Target string
}

func (e Entry) String() string {
	switch e.Kind {
	case File:
		return fmt.Sprintf("file %v size %d mtime %s sha256 %.12s", e.Mode, e.Size, e.MTime.UTC().Format(time.RFC3339Nano), e.SHA256)
	case Symlink:
		return fmt.Sprintf("symlink -> %s mtime %s", e.Target, e.MTime.UTC().Format(time.RFC3339Nano))
	default:
		return fmt.Sprintf("dir %v mtime %s", e.Mode, e.MTime.UTC().Format(time.RFC3339Nano))
	}
}

// Tree maps slash-separated paths relative to the root to their entries.
// The root itself is not an entry.
type Tree map[string]Entry

// Stats counts the tree's regular files and their bytes.
func (t Tree) Stats() (files, bytes int64) {
	for _, e := range t {
		if e.Kind == File {
			files++
			bytes += e.Size
		}
	}
	return files, bytes
}

// Scan records the tree below root, hashing files on every CPU.
func Scan(root string) (Tree, error) {
	tree := Tree{}
	type file struct{ rel, path string }
	var files []file
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			tree[rel] = Entry{Kind: Dir, Mode: info.Mode().Perm(), MTime: info.ModTime()}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tree[rel] = Entry{Kind: Symlink, Target: target, MTime: info.ModTime()}
		case info.Mode().IsRegular():
			tree[rel] = Entry{Kind: File, Mode: info.Mode().Perm(), Size: info.Size(), MTime: info.ModTime()}
			files = append(files, file{rel, p})
		default:
			return fmt.Errorf("%s: unexpected file type %v", p, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan file)
	)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for f := range work {
				sum, err := hashFile(f.path, buf)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				e := tree[f.rel]
				e.SHA256 = sum
				tree[f.rel] = e
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return tree, firstErr
}

func hashFile(path string, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Options relax or tighten a comparison.
type Options struct {
	// IgnoreMode and IgnoreMTime leave permission bits and file mtimes out.
	IgnoreMode, IgnoreMTime bool
	// AllMTimes compares the mtimes of directories and symlinks too, for
	// restores that promise them (not every peer restores a directory's
	// own mtime). IgnoreMTime overrides it.
	AllMTimes bool
}

// Diff lists, sorted, every difference of got from want: missing and extra
// paths, and entries whose type, bytes, link target, or (unless ignored)
// mode or mtime differ. No difference is an empty list.
func Diff(want, got Tree, o Options) []string {
	norm := func(e Entry) Entry {
		if o.IgnoreMode {
			e.Mode = 0
		}
		if o.IgnoreMTime || (e.Kind != File && !o.AllMTimes) {
			e.MTime = time.Time{}
		}
		e.MTime = e.MTime.UTC()
		return e
	}
	var diffs []string
	for p, we := range want {
		ge, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s (%s)", p, we))
		case norm(ge) != norm(we):
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", p, ge, we))
		}
	}
	for p, ge := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %s (%s)", p, ge))
		}
	}
	sort.Strings(diffs)
	return diffs
}

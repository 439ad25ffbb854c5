package main

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
)

// entry is what verification compares for one path below a tree's root.
type entry struct {
	kind   byte // 'f', 'd', 'l'
	mode   fs.FileMode
	size   int64
	mtime  int64 // seconds; regular files only
	sum    string
	target string // symlinks
}

type manifest map[string]entry

// stats counts a tree's regular files and their bytes.
func (m manifest) stats() (files, bytes int64) {
	for _, e := range m {
		if e.kind == 'f' {
			files++
			bytes += e.size
		}
	}
	return files, bytes
}

// scan walks root and hashes every regular file (in parallel).
func scan(root string) (manifest, error) {
	m := manifest{}
	type job struct {
		rel, path string
	}
	var jobs []job
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode().IsDir():
			m[rel] = entry{kind: 'd', mode: info.Mode().Perm()}
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = entry{kind: 'l', target: t}
		case info.Mode().IsRegular():
			m[rel] = entry{kind: 'f', mode: info.Mode().Perm(), size: info.Size(), mtime: info.ModTime().Unix()}
			jobs = append(jobs, job{rel, p})
		default:
			return fmt.Errorf("%s: unexpected file type %s", p, info.Mode().Type())
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
		ch       = make(chan job)
	)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for j := range ch {
				sum, err := hashFile(j.path, buf)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				e := m[j.rel]
				e.sum = sum
				m[j.rel] = e
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return m, firstErr
}

func hashFile(path string, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compare returns content differences (missing, extra, wrong type, size,
// bytes or link target) and, separately, metadata differences (permission
// bits, file mtimes), at most max of each.
func compare(want, got manifest, max int) (content, meta []string) {
	var paths []string
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		w := want[p]
		g, ok := got[p]
		switch {
		case !ok:
			content = append(content, "missing "+p)
		case g.kind != w.kind:
			content = append(content, fmt.Sprintf("%s: type %c, want %c", p, g.kind, w.kind))
		case g.size != w.size || g.sum != w.sum || g.target != w.target:
			content = append(content, fmt.Sprintf("%s: content differs (size %d, want %d)", p, g.size, w.size))
		default:
			if g.mode != w.mode && w.kind != 'l' {
				meta = append(meta, fmt.Sprintf("%s: mode %v, want %v", p, g.mode, w.mode))
			}
			if g.mtime != w.mtime {
				meta = append(meta, fmt.Sprintf("%s: mtime %d, want %d", p, g.mtime, w.mtime))
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			content = append(content, "extra "+p)
		}
	}
	if len(content) > max {
		content = append(content[:max], fmt.Sprintf("… %d more", len(content)-max))
	}
	if len(meta) > max {
		meta = append(meta[:max], fmt.Sprintf("… %d more", len(meta)-max))
	}
	return content, meta
}

package executor

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot"
)

// treeFilter guards and trims a snapshot tree before kopia restores it.
//
// Invariant: every directory kopia's restore walks is a *filteredDir, so every
// name it joins onto a target path has passed safeEntryName and is unique in
// its directory. A name can therefore never climb out of its parent ("..",
// "/", absolute names) and no symlink entry can share a path with a
// directory entry (which would let later files be written through the link).
type treeFilter struct {
	// excludes are path.Match patterns; see excluded.
	excludes []string
}

// newTreeFilter validates exclude patterns.
func newTreeFilter(excludes []string) (*treeFilter, error) {
	f := &treeFilter{}
	for _, p := range excludes {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p = strings.TrimPrefix(p, "/")
		p = strings.TrimSuffix(p, "/")
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("invalid exclude pattern %q: %w", p, err)
		}
		f.excludes = append(f.excludes, p)
	}
	return f, nil
}

// excluded reports whether the snapshot-relative, slash-separated path rel
// matches an exclude pattern. A pattern without '/' matches the base name
// at any depth ("*.log"); a pattern with '/' matches the whole relative path
// ("cache/tmp", "data/*.tmp"). Excluding a directory excludes its subtree,
// because the walk never descends into it.
func (f *treeFilter) excluded(rel string) bool {
	if f == nil || rel == "" {
		return false
	}
	base := path.Base(rel)
	for _, p := range f.excludes {
		target := rel
		if !strings.Contains(p, "/") {
			target = base
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

// safeEntryName rejects names that are not a single, ordinary path element.
func safeEntryName(name string) bool {
	return name != "" && name != "." && name != ".." &&
		!strings.ContainsAny(name, "/\x00") && !strings.Contains(name, `\`)
}

// wrap returns e, with directories wrapped so that their listing is checked
// and filtered; rel is e's slash-separated path relative to the snapshot root.
func (f *treeFilter) wrap(e fs.Entry, rel string) fs.Entry {
	if d, ok := e.(fs.Directory); ok {
		return &filteredDir{Directory: d, rel: rel, f: f}
	}
	return e
}

// filteredDir is a snapshot directory whose listing is validated and filtered.
type filteredDir struct {
	fs.Directory
	rel string
	f   *treeFilter
}

var _ snapshot.HasDirEntry = (*filteredDir)(nil)

// DirEntry passes the snapshot's own directory entry through when there is one.
func (d *filteredDir) DirEntry() *snapshot.DirEntry {
	if de, ok := d.Directory.(snapshot.HasDirEntry); ok {
		return de.DirEntry()
	}
	return nil
}

// Child returns a checked child; excluded children do not exist.
func (d *filteredDir) Child(ctx context.Context, name string) (fs.Entry, error) {
	if !safeEntryName(name) {
		return nil, fmt.Errorf("%w: %q in %q", ErrUnsafeEntryName, name, "/"+d.rel)
	}
	rel := path.Join(d.rel, name)
	if d.f.excluded(rel) {
		return nil, fs.ErrEntryNotFound
	}
	e, err := d.Directory.Child(ctx, name)
	if err != nil {
		return nil, err //nolint:wrapcheck // kopia's not-found error must stay matchable.
	}
	return d.f.wrap(e, rel), nil
}

// Iterate lists the directory, failing on unsafe or duplicate names and
// dropping excluded entries.
func (d *filteredDir) Iterate(ctx context.Context) (fs.DirectoryIterator, error) {
	entries, err := fs.GetAllEntries(ctx, d.Directory)
	if err != nil {
		return nil, fmt.Errorf("listing snapshot directory %q: %w", "/"+d.rel, err)
	}
	seen := make(map[string]struct{}, len(entries))
	out := make([]fs.Entry, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !safeEntryName(name) {
			return nil, fmt.Errorf("%w: %q in %q", ErrUnsafeEntryName, name, "/"+d.rel)
		}
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: duplicate name %q in %q", ErrUnsafeEntryName, name, "/"+d.rel)
		}
		seen[name] = struct{}{}
		rel := path.Join(d.rel, name)
		if d.f.excluded(rel) {
			continue
		}
		out = append(out, d.f.wrap(e, rel))
	}
	return fs.StaticIterator(out, nil), nil
}

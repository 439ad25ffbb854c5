package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/object"
	"github.com/kopia/kopia/snapshot"

	"github.com/restore-controller/restore/pkg/engine/pathspec"
)

// Include paths and exclude patterns are read the way users write them.
// One without a leading "/" is relative to the snapshot's root, the
// directory that was backed up. An absolute one is relative to the
// component's root, the filesystem the snapshot entries' hostPaths name,
// as KubeStash users write them: for an entry backed up from /source/data,
// "/source/data/db" is its "db", "/source/data" (or "/source", or "/") the
// whole entry, and "/etc" nothing of it. rebase maps an absolute path onto
// one entry.

// rebase maps the clean, absolute path or pattern p onto an entry backed
// up from hostPath: the slash-separated part of p below hostPath, "."
// when p is hostPath or one of its ancestors (the whole entry), ok=false
// when p lies elsewhere. With glob, p's elements are path.Match patterns,
// matched against hostPath's one by one.
func rebase(p, hostPath string, glob bool) (rel string, ok bool) {
	pe, he := pathElements(p), pathElements(hostPath)
	for i, h := range he {
		if i == len(pe) {
			return ".", true
		}
		match := pe[i] == h
		if !match && glob {
			match, _ = path.Match(pe[i], h)
		}
		if !match {
			return "", false
		}
	}
	if len(pe) == len(he) {
		return ".", true
	}
	return strings.Join(pe[len(he):], "/"), true
}

// pathElements are the elements of a slash-separated path ("/" has none).
func pathElements(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// entryInclude is an include path of one snapshot entry, relative to its
// root, and the indexes of the includes it restores: its own, and those of
// the includes inside it.
type entryInclude struct {
	rel     string
	indexes []int
}

// entryIncludes maps the includes (normalizeIncludes) onto an entry backed
// up from hostPath: relative ones as they are, absolute ones rebased,
// those that lie elsewhere dropped, those inside another one restored with
// it. whole lists the includes that name the whole entry (then the others
// do not matter).
func entryIncludes(includes []string, hostPath string) (incs []entryInclude, whole []int) {
	rels := make([]string, len(includes))
	for j, inc := range includes {
		rel := inc
		if strings.HasPrefix(inc, "/") {
			var ok bool
			if rel, ok = rebase(inc, hostPath, false); !ok {
				continue
			}
		}
		if rel == "." {
			whole = append(whole, j)
			continue
		}
		rels[j] = rel
	}
	for j, a := range rels {
		if a == "" {
			continue
		}
		inside := slices.ContainsFunc(rels, func(b string) bool { return b != "" && strings.HasPrefix(a, b+"/") }) ||
			slices.Contains(rels[:j], a)
		if inside {
			continue
		}
		ei := entryInclude{rel: a}
		for k, b := range rels {
			if b == a || strings.HasPrefix(b, a+"/") {
				ei.indexes = append(ei.indexes, k)
			}
		}
		incs = append(incs, ei)
	}
	return incs, whole
}

// absoluteIncludeHint explains an absolute include path that is in no
// snapshot entry: it is read from the component's root, where the entries
// came from.
func absoluteIncludeHint(inc string, entries []SnapshotEntry) string {
	if !strings.HasPrefix(inc, "/") {
		return ""
	}
	var hostPaths []string
	for _, e := range entries {
		if !slices.Contains(hostPaths, e.HostPath) {
			hostPaths = append(hostPaths, e.HostPath)
		}
	}
	return fmt.Sprintf(" (an absolute path is read from the component's root, and the snapshots hold %s)", strings.Join(hostPaths, ", "))
}

// excludePattern is one exclude pattern relative to a snapshot's root.
type excludePattern struct {
	glob string
	// anchored patterns match the whole relative path; the others the
	// base name at any depth.
	anchored bool
}

// treeFilter guards and trims a snapshot tree before kopia restores it.
//
// Invariant: every directory kopia's restore walks is a *filteredDir, so every
// name it joins onto a target path has passed safeEntryName and is unique in
// its directory. A name can therefore never climb out of its parent ("..",
// "/", absolute names) and no symlink entry can share a path with a
// directory entry (which would let later files be written through the link).
//
// It also gives directories back their own modification time. Kopia
// v0.21.1's repository directory reader (snapshotfs.repositoryDirectory)
// replaces every subdirectory's recorded mtime with the newest mtime found
// in its subtree (DirSummary.MaxModTime, for "kopia mount"; kopia issue
// #2058), and its restore then stamps that on the restored directory. When
// rep is set, filteredDir reads the directory's manifest itself and reports
// the mtime the snapshot recorded for each subdirectory.
type treeFilter struct {
	// excludes apply to every snapshot entry; see excluded.
	excludes []excludePattern
	// absolute are the absolute exclude patterns, which forEntry maps onto
	// one entry.
	absolute []string
	// rep, when set, is read for directories' recorded mtimes.
	rep repo.Repository
}

// newTreeFilter validates exclude patterns.
func newTreeFilter(excludes []string) (*treeFilter, error) {
	f := &treeFilter{}
	for _, p := range excludes {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if err := pathspec.CheckExclude(p); err != nil {
			return nil, err
		}
		if strings.HasPrefix(p, "/") {
			f.absolute = append(f.absolute, path.Clean(p))
			continue
		}
		p = strings.TrimSuffix(p, "/")
		f.excludes = append(f.excludes, excludePattern{glob: p, anchored: strings.Contains(p, "/")})
	}
	return f, nil
}

// forEntry is the filter of one snapshot entry backed up from hostPath:
// the relative patterns and the absolute ones that lie under hostPath,
// anchored at the entry's root. whole reports that an absolute pattern
// names hostPath or an ancestor: nothing of the entry is restored.
func (f *treeFilter) forEntry(hostPath string) (ef *treeFilter, whole bool) {
	ef = &treeFilter{excludes: f.excludes, rep: f.rep}
	for _, p := range f.absolute {
		rel, ok := rebase(p, hostPath, true)
		switch {
		case !ok:
		case rel == ".":
			return ef, true
		default:
			ef.excludes = append(ef.excludes[:len(ef.excludes):len(ef.excludes)], excludePattern{glob: rel, anchored: true})
		}
	}
	return ef, false
}

// excluded reports whether the snapshot-relative, slash-separated path rel
// matches an exclude pattern. A relative pattern without '/' matches the
// base name at any depth ("*.log"); one with '/', and an absolute one, match
// the whole relative path ("cache/tmp", "data/*.tmp"). Excluding a directory
// excludes its subtree, because the walk never descends into it.
func (f *treeFilter) excluded(rel string) bool {
	if f == nil || rel == "" {
		return false
	}
	base := path.Base(rel)
	for _, p := range f.excludes {
		target := rel
		if !p.anchored {
			target = base
		}
		if ok, _ := path.Match(p.glob, target); ok {
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
	return f.wrapWithMTime(e, rel, nil)
}

// wrapWithMTime is wrap, with a directory's ModTime replaced by *mtime when
// mtime is set (the mtime the snapshot recorded for it).
func (f *treeFilter) wrapWithMTime(e fs.Entry, rel string, mtime *time.Time) fs.Entry {
	if d, ok := e.(fs.Directory); ok {
		return &filteredDir{Directory: d, rel: rel, f: f, mtime: mtime}
	}
	return e
}

// recordedDirMTimes returns the mtimes that d's manifest records for its
// subdirectories, by name; nil when f has no repository or d is not a
// repository directory. (Kopia's own listing of d reports their
// DirSummary.MaxModTime instead.)
func (f *treeFilter) recordedDirMTimes(ctx context.Context, d fs.Directory) (map[string]time.Time, error) {
	if f == nil || f.rep == nil {
		return nil, nil
	}
	if fd, ok := d.(*filteredDir); ok {
		d = fd.Directory
	}
	oidd, ok := d.(object.HasObjectID)
	if !ok {
		return nil, nil
	}
	r, err := f.rep.OpenObject(ctx, oidd.ObjectID())
	if err != nil {
		return nil, fmt.Errorf("opening directory object %v: %w", oidd.ObjectID(), err)
	}
	defer r.Close() //nolint:errcheck
	var man snapshot.DirManifest
	if err := json.NewDecoder(r).Decode(&man); err != nil {
		return nil, fmt.Errorf("reading directory object %v: %w", oidd.ObjectID(), err)
	}
	out := make(map[string]time.Time, len(man.Entries))
	for _, de := range man.Entries {
		if de != nil && de.Type == snapshot.EntryTypeDirectory {
			out[de.Name] = de.ModTime.ToTime()
		}
	}
	return out, nil
}

// filteredDir is a snapshot directory whose listing is validated and filtered.
type filteredDir struct {
	fs.Directory
	rel string
	f   *treeFilter
	// mtime, when set, is the directory's recorded mtime (see treeFilter).
	mtime *time.Time
}

var _ snapshot.HasDirEntry = (*filteredDir)(nil)

// ModTime is the mtime the snapshot recorded for the directory when known.
func (d *filteredDir) ModTime() time.Time {
	if d.mtime != nil {
		return *d.mtime
	}
	return d.Directory.ModTime()
}

// DirEntry passes the snapshot's own directory entry through when there is
// one (a copy with the recorded mtime when that differs).
func (d *filteredDir) DirEntry() *snapshot.DirEntry {
	de, ok := d.Directory.(snapshot.HasDirEntry)
	if !ok {
		return nil
	}
	e := de.DirEntry()
	if e == nil || d.mtime == nil {
		return e
	}
	c := *e
	c.ModTime = fs.UTCTimestampFromTime(*d.mtime)
	return &c
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
	if _, isDir := e.(fs.Directory); !isDir {
		return d.f.wrap(e, rel), nil
	}
	mtimes, err := d.f.recordedDirMTimes(ctx, d.Directory)
	if err != nil {
		return nil, err
	}
	return d.f.wrapWithMTime(e, rel, lookupTime(mtimes, name)), nil
}

func lookupTime(m map[string]time.Time, name string) *time.Time {
	if t, ok := m[name]; ok {
		return &t
	}
	return nil
}

// Iterate lists the directory, failing on unsafe or duplicate names and
// dropping excluded entries.
func (d *filteredDir) Iterate(ctx context.Context) (fs.DirectoryIterator, error) {
	entries, err := fs.GetAllEntries(ctx, d.Directory)
	if err != nil {
		return nil, fmt.Errorf("listing snapshot directory %q: %w", "/"+d.rel, err)
	}
	mtimes, err := d.f.recordedDirMTimes(ctx, d.Directory)
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
		out = append(out, d.f.wrapWithMTime(e, rel, lookupTime(mtimes, name)))
	}
	return fs.StaticIterator(out, nil), nil
}

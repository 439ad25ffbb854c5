package main

import (
	"fmt"
	"sort"

	"github.com/restore-controller/restore/internal/fstree"
)

// compare returns content differences (missing, extra, wrong type, size,
// bytes or link target) and, separately, metadata differences (permission
// bits, file mtimes to the second), at most max of each.
//
// It compares the entries itself rather than through fstree.Diff, which
// reports both kinds alike and mtimes to the nanosecond: the bench fails a
// leg only for content and has always compared mtimes in whole seconds.
func compare(want, got fstree.Tree, max int) (content, meta []string) {
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
		case g.Kind != w.Kind:
			content = append(content, fmt.Sprintf("%s: type %s, want %s", p, g.Kind, w.Kind))
		case g.Size != w.Size || g.SHA256 != w.SHA256 || g.Target != w.Target:
			content = append(content, fmt.Sprintf("%s: content differs (size %d, want %d)", p, g.Size, w.Size))
		default:
			if g.Mode != w.Mode {
				meta = append(meta, fmt.Sprintf("%s: mode %v, want %v", p, g.Mode, w.Mode))
			}
			if w.Kind == fstree.File && g.MTime.Unix() != w.MTime.Unix() {
				meta = append(meta, fmt.Sprintf("%s: mtime %d, want %d", p, g.MTime.Unix(), w.MTime.Unix()))
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

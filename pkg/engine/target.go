package engine

import (
	"fmt"
	"path/filepath"
	"strings"
)

// destination is where one snapshot tree (or one included sub-path of it)
// is restored.
type destination struct {
	// Path is the absolute directory (or file, for an included file) kopia
	// restores into.
	Path string
	// Boundary is the directory Path must stay under: the target mount path
	// containing it, else the target root. Everything from Boundary
	// (exclusive) down to Path must be a real directory, never a symlink.
	Boundary string
}

// within reports whether p is base or lies under it. Both must be clean.
func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// resolveDestination maps a snapshot's hostPath to its place under
// targetRoot and checks it against the target's mount paths (interpreted
// under targetRoot as well, so tests can redirect the whole tree).
func resolveDestination(targetRoot string, mountPaths []string, hostPath string) (destination, error) {
	root, err := filepath.Abs(targetRoot)
	if err != nil {
		return destination{}, fmt.Errorf("target root %q: %w", targetRoot, err)
	}
	if hostPath == "" {
		return destination{}, fmt.Errorf("%w: snapshot entry has no hostPath", ErrOutsideTarget)
	}
	// Join cleans "..": check the result, not the input.
	dest := filepath.Join(root, hostPath)
	if !within(root, dest) {
		return destination{}, fmt.Errorf("%w: hostPath %q resolves to %q, outside the target root %q", ErrOutsideTarget, hostPath, dest, root)
	}
	if len(mountPaths) == 0 {
		return destination{Path: dest, Boundary: root}, nil
	}
	for _, m := range mountPaths {
		mount := filepath.Join(root, m)
		if within(mount, dest) {
			return destination{Path: dest, Boundary: mount}, nil
		}
	}
	return destination{}, fmt.Errorf("%w: %q is not inside any of the target's volume mounts %s", ErrOutsideTarget, dest, strings.Join(mountPaths, ", "))
}

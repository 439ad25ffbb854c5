// Package pathspec holds the rules for the include paths and exclude
// patterns of a restore (the include and exclude task params). It imports
// neither kopia nor Kubernetes, so the engine applies these rules and the
// controller rejects a path or pattern that breaks them before any Job
// runs: one copy for both.
package pathspec

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// CleanInclude returns the include path p cleaned. An absolute path is
// relative to the component's root and is returned as path.Clean makes
// it; a relative one is relative to the snapshot's root, returned without
// a trailing slash, "." meaning the whole snapshot. A relative path that
// leaves the snapshot ("../x") is an error.
func CleanInclude(p string) (string, error) {
	p = strings.TrimSpace(p)
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), nil
	}
	c := path.Clean(strings.TrimSuffix(p, "/"))
	if c != "." && !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", fmt.Errorf("invalid include path %q: must stay inside the snapshot", p)
	}
	return c, nil
}

// CheckExclude reports an exclude pattern that is not a valid path.Match
// glob.
func CheckExclude(p string) error {
	if _, err := path.Match(strings.TrimSpace(p), ""); err != nil {
		return fmt.Errorf("invalid exclude pattern %q: %w", p, err)
	}
	return nil
}

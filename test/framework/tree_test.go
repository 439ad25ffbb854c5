package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restore-controller/restore/internal/fstree"
)

// TestExpectSameTree: a tree equals itself and is told apart from copies
// that lost a permission bit, an mtime or a file; an empty expected tree
// fails, since comparing with it proves nothing.
func TestExpectSameTree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string // fragment of the one expected failure; "" for none
	}{
		{name: "unchanged"},
		{name: "mode", change: func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "text", "secret.key"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: "text/secret.key"},
		{name: "mtime", change: func(t *testing.T, dir string) {
			if err := os.Chtimes(filepath.Join(dir, "bin", "tool.sh"), edgeCaseTreeTime, edgeCaseTreeTime.Add(1)); err != nil {
				t.Fatal(err)
			}
		}, want: "bin/tool.sh"},
		{name: "missing file", change: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "many", "f07")); err != nil {
				t.Fatal(err)
			}
		}, want: "many/f07"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			WriteEdgeCaseTree(t, dir, 1<<20)
			want := ScanTree(t, dir)
			if tc.change != nil {
				tc.change(t, dir)
			}
			r := run(t, func(tb testing.TB) { ExpectSameTree(tb, "the copy", want, dir) })
			switch {
			case tc.want == "" && len(r.errors) != 0:
				t.Errorf("an identical tree differs: %q", r.errors)
			case tc.want != "" && (len(r.errors) != 1 || !strings.Contains(r.errors[0], tc.want)):
				t.Errorf("errors %q, want one naming %s", r.errors, tc.want)
			}
		})
	}

	t.Run("empty expected tree", func(t *testing.T) {
		r := run(t, func(tb testing.TB) { ExpectSameTree(tb, "the copy", fstree.Tree{}, t.TempDir()) })
		if len(r.errors) != 1 || !strings.Contains(r.errors[0], "nothing was compared") {
			t.Errorf("errors %q, want the empty comparison refused", r.errors)
		}
	})
}

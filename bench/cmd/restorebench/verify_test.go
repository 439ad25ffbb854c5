package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/restore-controller/restore/internal/fstree"
)

func TestCompare(t *testing.T) {
	at := time.Unix(1700000000, 100)
	want := fstree.Tree{
		"d":      {Kind: fstree.Dir, Mode: 0o755},
		"d/f":    {Kind: fstree.File, Mode: 0o644, Size: 3, MTime: at, SHA256: "aa"},
		"d/g":    {Kind: fstree.File, Mode: 0o600, Size: 1, MTime: at, SHA256: "bb"},
		"link":   {Kind: fstree.Symlink, Target: "d/f"},
		"gone":   {Kind: fstree.File, Size: 0, MTime: at},
		"toFile": {Kind: fstree.Dir, Mode: 0o755},
	}
	got := fstree.Tree{
		"d":      {Kind: fstree.Dir, Mode: 0o700},                                                     // mode
		"d/f":    {Kind: fstree.File, Mode: 0o644, Size: 3, MTime: at.Add(500), SHA256: "aa"},         // same second: equal
		"d/g":    {Kind: fstree.File, Mode: 0o600, Size: 1, MTime: at.Add(time.Second), SHA256: "cc"}, // bytes
		"link":   {Kind: fstree.Symlink, Target: "d/g"},                                               // target
		"toFile": {Kind: fstree.File, Mode: 0o755},                                                    // type
		"new":    {Kind: fstree.File},
	}
	content, meta := compare(want, got, 10)
	wantContent := []string{
		"d/g: content differs (size 1, want 1)",
		"missing gone",
		"link: content differs (size 0, want 0)",
		"toFile: type file, want dir",
		"extra new",
	}
	if !reflect.DeepEqual(content, wantContent) {
		t.Errorf("content differences %q, want %q", content, wantContent)
	}
	if wantMeta := []string{"d: mode -rwx------, want -rwxr-xr-x"}; !reflect.DeepEqual(meta, wantMeta) {
		t.Errorf("metadata differences %q, want %q", meta, wantMeta)
	}

	got["d/f"] = fstree.Entry{Kind: fstree.File, Mode: 0o644, Size: 3, MTime: at.Add(time.Second), SHA256: "aa"}
	if _, meta := compare(want, got, 10); len(meta) != 2 || meta[1] != "d/f: mtime 1700000001, want 1700000000" {
		t.Errorf("a whole second's mtime difference: %q", meta)
	}
	if content, _ := compare(want, got, 2); len(content) != 3 || content[2] != "… 3 more" {
		t.Errorf("capped at 2: %q", content)
	}
}

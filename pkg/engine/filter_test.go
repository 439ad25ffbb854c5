package engine

import (
	"reflect"
	"testing"
)

func TestRebase(t *testing.T) {
	for _, tc := range []struct {
		p, hostPath string
		glob        bool
		rel         string
		ok          bool
	}{
		{p: "/source/data/db", hostPath: "/source/data", rel: "db", ok: true},
		{p: "/source/data/db/x.sql", hostPath: "/source/data/", rel: "db/x.sql", ok: true},
		{p: "/source/data", hostPath: "/source/data", rel: ".", ok: true},
		{p: "/source", hostPath: "/source/data", rel: ".", ok: true},
		{p: "/", hostPath: "/source/data", rel: ".", ok: true},
		{p: "/anything", hostPath: "/", rel: "anything", ok: true},
		{p: "/source/database", hostPath: "/source/data"},
		{p: "/etc", hostPath: "/source/data"},
		{p: "/source/*/tmp", hostPath: "/source/data", glob: true, rel: "tmp", ok: true},
		{p: "/source/*/tmp", hostPath: "/source/data"},
		{p: "/source/data/*.log", hostPath: "/source/data", glob: true, rel: "*.log", ok: true},
		{p: "/s*", hostPath: "/source/data", glob: true, rel: ".", ok: true},
	} {
		rel, ok := rebase(tc.p, tc.hostPath, tc.glob)
		if rel != tc.rel || ok != tc.ok {
			t.Errorf("rebase(%q, %q, glob %t) = %q, %t; want %q, %t", tc.p, tc.hostPath, tc.glob, rel, ok, tc.rel, tc.ok)
		}
	}
}

func TestEntryIncludes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		includes  []string // as normalizeIncludes returns them
		hostPath  string
		want      []entryInclude
		wantWhole []int
	}{
		{name: "relative paths as they are", includes: []string{"db", "logs/today"}, hostPath: "/source/data",
			want: []entryInclude{{rel: "db", indexes: []int{0}}, {rel: "logs/today", indexes: []int{1}}}},
		{name: "absolute paths rebased, others dropped", includes: []string{"/source/data/db", "/etc/passwd"}, hostPath: "/source/data",
			want: []entryInclude{{rel: "db", indexes: []int{0}}}},
		{name: "a path inside another is restored with it", includes: []string{"/source/data/db/x", "db", "/source/data/db"}, hostPath: "/source/data",
			want: []entryInclude{{rel: "db", indexes: []int{0, 1, 2}}}},
		{name: "the hostPath or an ancestor is the whole entry", includes: []string{"/source", "db", "/source/data"}, hostPath: "/source/data",
			want: []entryInclude{{rel: "db", indexes: []int{1}}}, wantWhole: []int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, whole := entryIncludes(tc.includes, tc.hostPath)
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(whole, tc.wantWhole) {
				t.Errorf("entryIncludes = %+v, whole %v; want %+v, whole %v", got, whole, tc.want, tc.wantWhole)
			}
		})
	}
}

func TestTreeFilterForEntry(t *testing.T) {
	f, err := newTreeFilter([]string{"*.tmp", "cache/", "/source/data/logs", "/source/data/*.bak", "/etc", " "})
	if err != nil {
		t.Fatal(err)
	}
	ef, whole := f.forEntry("/source/data")
	if whole {
		t.Fatal("the entry of /source/data is excluded entirely")
	}
	for rel, want := range map[string]bool{
		"a.tmp":        true,  // relative, no '/': base name at any depth
		"x/y/b.tmp":    true,  //
		"cache":        true,  // relative with its trailing '/' dropped, anchored? no: base name
		"x/cache":      true,  //
		"logs":         true,  // absolute, rebased and anchored
		"x/logs":       false, // an anchored pattern matches at the entry's root only
		"old.bak":      true,  //
		"x/old.bak":    false, //
		"etc":          false, // /etc is not under /source/data
		"data/db.sql":  false,
		"source/data":  false,
		"logs/today":   false, // inside an excluded directory: the walk never gets there
		"keep.txt":     false,
		"":             false,
		"/source/data": false,
	} {
		if got := ef.excluded(rel); got != want {
			t.Errorf("excluded(%q) = %t, want %t", rel, got, want)
		}
	}
	if _, whole := f.forEntry("/etc/app"); !whole {
		t.Error("the entry of /etc/app is not excluded by /etc")
	}
	if ef, whole := f.forEntry("/var/lib"); whole || len(ef.excludes) != 2 {
		t.Errorf("the entry of /var/lib: whole %t, excludes %+v; want the two relative patterns only", whole, ef.excludes)
	}
	if _, err := newTreeFilter([]string{"/source/[data"}); err == nil {
		t.Error("an invalid absolute pattern was accepted")
	}
}

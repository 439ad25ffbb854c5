package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	objs := []*unstructured.Unstructured{
		database("Postgres", "src", "pg", "pg-auth", "pg-config", ""),
		secret("src", "pg-auth"),
	}
	if err := Write(dir, objs); err != nil {
		t.Fatal(err)
	}

	for _, rel := range []string{"core/Secret/src/pg-auth.yaml", "kubedb.com/Postgres/src/pg.yaml", FormatFile} {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("layout: %v", err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (manifests hold Secrets)", rel, st.Mode().Perm())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "kubedb.com/Postgres/src/pg.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"resourceVersion", "uid:", "generation", "managedFields", "finalizers", "status:", "Ready", lastAppliedAnnotation} {
		if strings.Contains(string(raw), gone) {
			t.Errorf("stored manifest contains %q:\n%s", gone, raw)
		}
	}

	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := names(got); !slices.Equal(n, []string{"Secret src/pg-auth", "Postgres src/pg"}) {
		t.Fatalf("Read = %v, want the Secret then the Postgres (path order)", n)
	}
	for i, want := range []*unstructured.Unstructured{Strip(objs[1]), Strip(objs[0])} {
		if !reflect.DeepEqual(got[i].Object, want.Object) {
			t.Errorf("read back %s:\n got %v\nwant %v", describe(want), got[i].Object, want.Object)
		}
	}
	if got[1].GetAnnotations()["keep"] != "me" {
		t.Errorf("other annotations must be kept: %v", got[1].GetAnnotations())
	}
}

func TestWriteRejects(t *testing.T) {
	clusterScoped := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "ns"},
	}}
	badName := secret("src", "../x")
	cases := []struct {
		name    string
		objs    []*unstructured.Unstructured
		wantErr string
	}{
		{"cluster-scoped", []*unstructured.Unstructured{clusterScoped}, "Namespace ns: metadata.namespace is required"},
		{"duplicate", []*unstructured.Unstructured{secret("src", "a"), secret("src", "a")}, "Secret src/a is given twice"},
		{"unsafe name", []*unstructured.Unstructured{badName}, "is not a valid path element"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(t.TempDir(), tc.objs)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Write = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		wantErr string
	}{{
		name:    "no FORMAT",
		mutate:  func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, FormatFile))) },
		wantErr: "not a manifest tree",
	}, {
		name: "other FORMAT version",
		mutate: func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, FormatFile), []byte("v9\n"), 0o600))
		},
		wantErr: `FORMAT in`,
	}, {
		name: "object under another identity",
		mutate: func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "core/Secret/src/a.yaml"), filepath.Join(dir, "core/Secret/src/b.yaml")))
		},
		wantErr: `manifest "core/Secret/src/b.yaml" holds Secret src/a, which belongs at "core/Secret/src/a.yaml"`,
	}, {
		name: "symlink",
		mutate: func(t *testing.T, dir string) {
			must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "core/Secret/src/c.yaml")))
		},
		wantErr: `"core/Secret/src/c.yaml" is not a regular file or directory`,
	}, {
		name: "two documents",
		mutate: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "core/Secret/src/a.yaml")
			data, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p, append(data, []byte("\n---\nkind: Secret\n")...), 0o600))
		},
		wantErr: "more than one YAML document",
	}, {
		name: "too deep",
		mutate: func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Join(dir, "core/Secret/src/deeper"), 0o700))
		},
		wantErr: "unexpected directory",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, Write(dir, []*unstructured.Unstructured{secret("src", "a")}))
			tc.mutate(t, dir)
			objs, err := Read(dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Read = %v, %v; want error containing %q", names(objs), err, tc.wantErr)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

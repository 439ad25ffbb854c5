package kubelet

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestBinaryFor(t *testing.T) {
	k := &Kubelet{images: map[string]string{}}
	k.SetImageBinary("example.com/exec:v1", "/bin/a")
	k.SetImageBinary("example.com/any", "/bin/b")
	for image, want := range map[string]string{
		"example.com/exec:v1":       "/bin/a",
		"example.com/exec:v2":       "",
		"example.com/any:latest":    "/bin/b",
		"example.com/any@sha256:00": "/bin/b",
		"example.com/any":           "/bin/b",
		"localhost:5000/any:1":      "",
	} {
		got, ok := k.binaryFor(image)
		if got != want || ok != (want != "") {
			t.Errorf("binaryFor(%q) = %q, %v; want %q", image, got, ok, want)
		}
	}
}

func TestExpandArgs(t *testing.T) {
	got := expandArgs([]string{"$(A)/x", "$$(A)", "$(MISSING)", "plain"}, []string{"A=/data", "B=1"})
	want := []string{"/data/x", "$(A)", "$(MISSING)", "plain"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("expandArgs = %q, want %q", got, want)
	}
}

// TestResolve checks that container paths are resolved inside the new root,
// following absolute and relative symlinks there rather than on the host.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "run", "lock"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "var"), 0o755))
	must(os.Symlink("/run", filepath.Join(root, "var", "run")))
	must(os.Symlink("../run", filepath.Join(root, "var", "rel")))
	r := &rootBuilder{root: root}
	for _, tc := range []struct {
		path    string
		dir     string
		missing []string
	}{
		{"/var/run/lock", filepath.Join(root, "run", "lock"), nil},
		{"/var/rel/lock", filepath.Join(root, "run", "lock"), nil},
		{"/var/run/secrets/kubernetes.io/serviceaccount", filepath.Join(root, "run"), []string{"secrets", "kubernetes.io", "serviceaccount"}},
		{"/data", root, []string{"data"}},
		{"/../../run", filepath.Join(root, "run"), nil},
	} {
		dir, missing, err := r.resolve(tc.path)
		if err != nil {
			t.Fatalf("resolve(%s): %v", tc.path, err)
		}
		if dir != tc.dir || !reflect.DeepEqual(missing, tc.missing) {
			t.Errorf("resolve(%s) = %s, %q; want %s, %q", tc.path, dir, missing, tc.dir, tc.missing)
		}
	}
}

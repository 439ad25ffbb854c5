package install

import (
	"fmt"
	"strings"
	"testing"

	"github.com/restore-controller/restore/test/framework"
)

// kubectl and tryKubectl run kubectl against the package's cluster
// (framework.MustKubectl and framework.Kubectl) with stdin as its input.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return framework.MustKubectl(t, c.KubeconfigPath(), stdin, args...)
}

func tryKubectl(stdin string, args ...string) (string, error) {
	return framework.Kubectl(c.KubeconfigPath(), stdin, args...)
}

// apply applies YAML documents with `kubectl apply -f -`.
func apply(t *testing.T, yaml string) {
	t.Helper()
	kubectl(t, yaml, "apply", "-f", "-")
}

// newNamespace creates a namespace named prefix plus a random suffix with
// kubectl and deletes it when the test ends.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := strings.TrimSpace(kubectl(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  generateName: %s-\n", prefix),
		"create", "-f", "-", "-o", "jsonpath={.metadata.name}"))
	t.Cleanup(func() { _, _ = tryKubectl("", "delete", "namespace", ns, "--wait=false") })
	framework.LogsOnFailure(t, c, ns)
	return ns
}

// restoreColumns returns the cells of `kubectl get restore` for one
// RestoreSession, keyed by column header. Cells may contain spaces
// ("2/3 components, 67%"), so they are cut at the header's column starts.
func restoreColumns(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	out := kubectl(t, "", "get", "restore", "-n", ns, name)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get restore: want a header and one row, got:\n%s", out)
	}
	header, row := lines[0], lines[1]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	cells := map[string]string{}
	for i, start := range starts {
		end := len(row)
		if i+1 < len(starts) {
			end = min(starts[i+1], len(row))
		}
		name := strings.TrimSpace(header[start:min(end, len(header))])
		if start < len(row) {
			cells[name] = strings.TrimSpace(row[start:end])
		} else {
			cells[name] = ""
		}
	}
	return cells
}

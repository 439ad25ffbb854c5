package admission

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

// TestKubectlApply installs the CRDs and the reference's sample the way the
// README tells users to: client-side `kubectl apply`, which records each
// whole object in an annotation limited to 256 KiB.
func TestKubectlApply(t *testing.T) {
	setup(t)
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		return framework.MustKubectl(t, c.KubeconfigPath(), "", args...)
	}
	kubectl("apply", "-f", filepath.Join(root, "artifacts", "crds"))
	kubectl("create", "namespace", "demo")
	t.Cleanup(func() { kubectl("delete", "namespace", "demo", "--wait=false") })
	kubectl("apply", "-f", filepath.Join(root, "artifacts", "examples", "sample-restore.yaml"))

	if got := kubectl("get", "restore", "-n", "demo", "sample-restore", "-o", "jsonpath={.spec.dataSource.snapshot}"); got != "latest" {
		t.Errorf("sample's snapshot = %q, want latest", got)
	}
	if got := kubectl("get", "restore", "-n", "demo"); !strings.Contains(got, "REPOSITORY") || !strings.Contains(got, "gcs-demo-repo") {
		t.Errorf("kubectl get restore shows no Repository column:\n%s", got)
	}
	if got := kubectl("explain", "restoresession.spec.dataSource.snapshot"); !strings.Contains(got, "newest Succeeded Snapshot") {
		t.Errorf("kubectl explain lacks the field's description:\n%s", got)
	}
}

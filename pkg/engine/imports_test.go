package engine

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/restore-controller/restore"

// kubernetesFreeViolation says why the engine may not depend on pkg, or ""
// when it may. The engine knows nothing of Kubernetes: no k8s.io or
// sigs.k8s.io package but klog (contextual logging), and no package of
// this module but its own subpackages (pkg/apis, pkg/generated, pkg/refs,
// ... are the executor's side).
func kubernetesFreeViolation(pkg string) string {
	switch {
	case pkg == "k8s.io/klog/v2" || strings.HasPrefix(pkg, "k8s.io/klog/v2/"):
		return ""
	case pkg == modulePath+"/internal/units": // size formatting, imports only fmt
		return ""
	case strings.HasPrefix(pkg, "k8s.io/"), strings.HasPrefix(pkg, "sigs.k8s.io/"):
		return "a Kubernetes package"
	case strings.HasPrefix(pkg, modulePath+"/") && pkg != modulePath+"/pkg/engine" && !strings.HasPrefix(pkg, modulePath+"/pkg/engine/"):
		return "a package of this module (the Kubernetes side imports the engine, not the reverse)"
	default:
		return ""
	}
}

func TestKubernetesFreeViolation(t *testing.T) {
	for pkg, forbidden := range map[string]bool{
		"k8s.io/klog/v2":                                  false,
		"k8s.io/klog/v2/internal/serialize":               false,
		"github.com/kopia/kopia/repo":                     false,
		"golang.org/x/sys/unix":                           false,
		modulePath + "/pkg/engine":                        false,
		modulePath + "/pkg/engine/pathspec":               false,
		modulePath + "/pkg/enginex":                       true,
		modulePath + "/internal/units":                    false,
		"k8s.io/api/core/v1":                              true,
		"k8s.io/apimachinery/pkg/apis/meta/v1":            true,
		"k8s.io/client-go/kubernetes":                     true,
		"k8s.io/utils/ptr":                                true,
		"sigs.k8s.io/yaml":                                true,
		modulePath + "/pkg/apis/core/v1alpha1":            true,
		modulePath + "/pkg/generated/clientset/versioned": true,
		modulePath + "/pkg/refs":                          true,
		modulePath + "/pkg/executor":                      true,
	} {
		if got := kubernetesFreeViolation(pkg) != ""; got != forbidden {
			t.Errorf("kubernetesFreeViolation(%q) forbids: %t, want %t", pkg, got, forbidden)
		}
	}
}

// The engine's build (not its tests) depends on no Kubernetes package: it
// stays usable and testable without an API, and the layering of issue 14
// cannot erode one convenient import at a time.
func TestEngineImportsNoKubernetes(t *testing.T) {
	// go test puts its own GOROOT/bin first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the engine's dependencies: %v", err)
	}
	out, err := exec.CommandContext(testContext(t), goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
		t.Fatalf("go list -deps: %v\n%s", err, exitErr.Stderr)
	}
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != modulePath+"/pkg/engine" {
		t.Fatalf("go list -deps did not list the engine last: %q", deps)
	}
	var violations []string
	for _, pkg := range deps {
		if why := kubernetesFreeViolation(pkg); why != "" {
			violations = append(violations, pkg+": "+why)
		}
	}
	if n := len(violations); n > 0 {
		// One bad import pulls in hundreds; the first ones name it best
		// (go list -deps lists dependencies before their importers, so
		// look from the end).
		slices.Reverse(violations)
		t.Errorf("pkg/engine depends on %d forbidden packages, among them:\n  %s", n, strings.Join(violations[:min(n, 10)], "\n  "))
	}
}

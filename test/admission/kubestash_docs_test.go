package admission

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

var updateKnownRejections = flag.Bool("update", false,
	"rewrite "+knownRejectionsFile+" from this run's rejections instead of comparing against it")

const (
	strictDecodingError = "strict decoding error"
	kubestashDocsDir    = "testdata/kubestash-docs"
	knownRejectionsFile = kubestashDocsDir + "/known-rejections.txt"
	knownRejectionsHead = `# Fixtures of testdata/kubestash-docs that the project's CRDs (and
# admission policy) reject today: the path, then the API server's reason as
# kubectl prints it. TestKubeStashDocs fails when a fixture not listed here
# is rejected, and when a listed one is accepted: remove its line as the fix
# lands. Regenerate with: go test ./admission -run KubeStashDocs -update
`
)

// docsVerdict is what `kubectl apply` made of one fixture.
type docsVerdict struct {
	path     string // relative to kubestashDocsDir
	kind     string
	accepted bool
	reason   string // kubectl's error, without its prefixes; "" when accepted
	// hasStatus is set when the fixture carries a status; statusKept then
	// says whether the object the server returned still has it.
	hasStatus, statusKept bool
}

// TestKubeStashDocs applies every object of a served kind from KubeStash's
// own documentation (testdata/kubestash-docs, see its README) unchanged with
// `kubectl apply --dry-run=server`, as a user of KubeStash's docs would, and
// compares the rejected ones with known-rejections.txt. Fixtures with a
// status are also applied for real, since that is what users who copy
// `kubectl get -o yaml` output do: the verdict must match the dry run's.
func TestKubeStashDocs(t *testing.T) {
	setup(t)
	ctx := context.Background()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The project installs its ValidatingAdmissionPolicy with the CRDs;
	// users meet both. (The tenancy tests apply it too; applying is
	// idempotent.)
	if _, err := framework.Kubectl(c.KubeconfigPath(), "", "apply", "-k", filepath.Join(root, "artifacts", "admission")); err != nil {
		t.Fatalf("installing the admission policy: %v", err)
	}

	fixtures, err := filepath.Glob(filepath.Join(kubestashDocsDir, "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) == 0 {
		t.Fatalf("no fixtures in %s", kubestashDocsDir)
	}
	sort.Strings(fixtures)

	k := &docsKubectl{kubeconfig: c.KubeconfigPath(), cacheDir: t.TempDir()}
	namespaces := &docsNamespaces{created: map[string]bool{}, active: map[string]bool{}}
	t.Cleanup(func() { namespaces.deleteCreated(t) })

	var verdicts []docsVerdict
	for _, file := range fixtures {
		rel, err := filepath.Rel(kubestashDocsDir, file)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := framework.Decode(string(raw))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if ns := obj.GetNamespace(); ns != "" {
			if err := namespaces.ensure(ctx, ns); err != nil {
				t.Fatalf("%s: namespace %s: %v", rel, ns, err)
			}
		}
		v := docsVerdict{path: filepath.ToSlash(rel), kind: obj.GetKind()}
		_, v.hasStatus = obj.Object["status"]

		stored, errText := k.apply(ctx, file, true)
		v.accepted = errText == ""
		v.reason = shortReason(errText, file)
		if strings.Contains(errText, strictDecodingError) {
			// Unknown fields stop the request before the schema's types
			// and CEL rules are checked. Say what those make of the rest,
			// which is also what --validate=false users get, silently
			// without the unknown fields.
			_, prunedErr := k.apply(ctx, file, true, "--validate=false")
			v.reason += " || unknown fields pruned (--validate=false): "
			if prunedErr == "" {
				v.reason += "accepted"
			} else {
				v.reason += shortReason(prunedErr, file)
			}
		}
		if v.accepted && v.hasStatus {
			_, v.statusKept = stored["status"]
		}
		if v.hasStatus {
			k.checkRealApply(ctx, t, file, v)
		}
		verdicts = append(verdicts, v)
	}

	logDocsSummary(t, verdicts)
	rejected := map[string]string{}
	for _, v := range verdicts {
		if !v.accepted {
			rejected[v.path] = v.reason
		}
	}
	if *updateKnownRejections {
		if err := writeKnownRejections(knownRejectionsFile, rejected); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d rejections)", knownRejectionsFile, len(rejected))
		return
	}
	known, err := readKnownRejections(knownRejectionsFile)
	if err != nil {
		t.Fatal(err)
	}
	compareRejections(t, known, rejected, verdicts)
}

// compareRejections fails for every fixture rejected but not listed (a
// regression, or a new fixture) and every listed one that is now accepted
// or no longer exists (the list must shrink as fixes land).
func compareRejections(t *testing.T, known, rejected map[string]string, verdicts []docsVerdict) {
	t.Helper()
	exists := map[string]bool{}
	for _, v := range verdicts {
		exists[v.path] = true
	}
	for _, p := range sortedKeys(rejected) {
		if _, ok := known[p]; !ok {
			t.Errorf("%s is rejected and not in %s: %s", p, knownRejectionsFile, rejected[p])
		}
	}
	for _, p := range sortedKeys(known) {
		switch _, stillRejected := rejected[p]; {
		case !exists[p]:
			t.Errorf("%s lists %s, which is no fixture: remove the line", knownRejectionsFile, p)
		case !stillRejected:
			t.Errorf("%s is accepted now: remove it from %s (listed reason: %s)", p, knownRejectionsFile, known[p])
		}
	}
}

// docsKubectl runs kubectl against the test cluster with its own discovery
// cache, so that no cache from an earlier cluster on the same port misleads it.
type docsKubectl struct {
	kubeconfig, cacheDir string
}

// run returns kubectl's stdout and, when it fails, its stderr as the error.
func (k *docsKubectl) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), fmt.Errorf("%s", msg)
	}
	return stdout.String(), nil
}

// apply runs `kubectl apply -f file -o json` with extraArgs, with
// --dry-run=server when dryRun is set, and returns the object the server returned, or kubectl's
// error text.
func (k *docsKubectl) apply(ctx context.Context, file string, dryRun bool, extraArgs ...string) (map[string]any, string) {
	args := append([]string{"apply", "-f", file, "-o", "json"}, extraArgs...)
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	out, err := k.run(ctx, args...)
	if err != nil {
		return nil, err.Error()
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return nil, fmt.Sprintf("kubectl printed no object: %v\n%s", err, out)
	}
	return obj, ""
}

// checkRealApply applies a status-carrying fixture for real, as a user who
// copies `kubectl get -o yaml` output from the docs would, and checks that
// the verdict matches the dry run's; the object is removed again (its
// KubeStash finalizer first, since no KubeStash controller runs here).
func (k *docsKubectl) checkRealApply(ctx context.Context, t *testing.T, file string, dry docsVerdict) {
	t.Helper()
	stored, errText := k.apply(ctx, file, false)
	if errText == "" {
		defer func() {
			if _, err := k.run(ctx, "patch", "-f", file, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`); err != nil && !strings.Contains(err.Error(), "NotFound") {
				t.Errorf("%s: removing finalizers: %v", dry.path, err)
			}
			if _, err := k.run(ctx, "delete", "-f", file, "--ignore-not-found"); err != nil {
				t.Errorf("%s: deleting: %v", dry.path, err)
			}
		}()
	}
	realAccepted := errText == ""
	if realAccepted != dry.accepted {
		t.Errorf("%s: dry run accepted=%v (%s), real apply accepted=%v (%s)",
			dry.path, dry.accepted, dry.reason, realAccepted, shortReason(errText, file))
		return
	}
	if realAccepted {
		_, kept := stored["status"]
		t.Logf("%s: kubectl apply created it; status kept: %v (dry run: %v)", dry.path, kept, dry.statusKept)
	}
}

var (
	// What kubectl and the server put before the reason proper.
	reasonPrefixes = []*regexp.Regexp{
		regexp.MustCompile(`^Error from server(?: \([A-Za-z]+\))?: error when [a-z ]+"[^"]*": `),
		regexp.MustCompile(`^The [A-Za-z]+ "[^"]*" is invalid: ?`),
		regexp.MustCompile(`^[A-Za-z]+ in version "[^"]*" cannot be handled as an? [A-Za-z]+: `),
		regexp.MustCompile(`^\* `),
	}
	// The server adds this cause whenever a schema error kept the CEL
	// rules from running; it says nothing about the fixture.
	celNotChecked = regexp.MustCompile(`some validation rules were not checked because the object was invalid`)
)

// shortReason reduces kubectl's error text to the server's reasons on one
// line, separated by "; ": kubectl's prefixes, the object's name and the
// fixture's path go.
func shortReason(errText, file string) string {
	var causes []string
	sc := bufio.NewScanner(strings.NewReader(errText))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "Warning:") || celNotChecked.MatchString(l) {
			continue
		}
		for _, p := range reasonPrefixes {
			l = p.ReplaceAllString(l, "")
		}
		if l = strings.ReplaceAll(l, file, "FILE"); l != "" {
			causes = append(causes, l)
		}
	}
	return strings.Join(causes, "; ")
}

// docsNamespaces creates the fixtures' namespaces and deletes the ones it
// created when the test ends.
type docsNamespaces struct {
	created map[string]bool // by ensure, to delete at the end
	active  map[string]bool // seen Active, not to be checked again
}

// ensure returns once namespace ns exists and is Active. One that is being
// deleted (another test's, e.g. TestKubectlApply's "demo") is waited out
// and created again.
func (n *docsNamespaces) ensure(ctx context.Context, name string) error {
	if n.active[name] {
		return nil
	}
	namespaces := c.Client().CoreV1().Namespaces()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		current, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err := namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err == nil {
				n.created[name] = true
				return true, nil
			}
			if apierrors.IsAlreadyExists(err) {
				return false, nil // created meanwhile: look again
			}
			return false, err
		case err != nil:
			return false, err
		default:
			return current.Status.Phase == corev1.NamespaceActive, nil
		}
	})
	if err == nil {
		n.active[name] = true
	}
	return err
}

// deleteCreated deletes the namespaces ensure created and waits until they
// are gone, so later tests may create them afresh.
func (n *docsNamespaces) deleteCreated(t *testing.T) {
	ctx := context.Background()
	namespaces := c.Client().CoreV1().Namespaces()
	for _, name := range sortedKeys(n.created) {
		if err := namespaces.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
			continue
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := namespaces.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		if err != nil {
			t.Errorf("namespace %s not gone: %v", name, err)
		}
	}
}

// logDocsSummary logs total, accepted and rejected fixtures per kind.
func logDocsSummary(t *testing.T, verdicts []docsVerdict) {
	t.Helper()
	type count struct{ total, accepted, statusKept, withStatus int }
	perKind := map[string]*count{}
	var all count
	for _, v := range verdicts {
		c := perKind[v.kind]
		if c == nil {
			c = &count{}
			perKind[v.kind] = c
		}
		for _, c := range []*count{c, &all} {
			c.total++
			if v.accepted {
				c.accepted++
			}
			if v.hasStatus {
				c.withStatus++
				if v.statusKept {
					c.statusKept++
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %5s %8s %8s %11s\n", "kind", "total", "accepted", "rejected", "with status")
	for _, kind := range sortedKeys(perKind) {
		c := perKind[kind]
		fmt.Fprintf(&b, "%-20s %5d %8d %8d %11d\n", kind, c.total, c.accepted, c.total-c.accepted, c.withStatus)
	}
	fmt.Fprintf(&b, "%-20s %5d %8d %8d %11d\n", "all", all.total, all.accepted, all.total-all.accepted, all.withStatus)
	fmt.Fprintf(&b, "status kept by the dry run of an accepted create: %d of %d fixtures with status", all.statusKept, all.withStatus)
	t.Logf("KubeStash docs fixtures:\n%s", b.String())
}

func readKnownRejections(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (create it with -update)", err)
	}
	known := map[string]string{}
	for i, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p, reason, _ := strings.Cut(l, " ")
		if _, dup := known[p]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", path, i+1, p)
		}
		known[p] = strings.TrimSpace(reason)
	}
	return known, nil
}

func writeKnownRejections(path string, rejected map[string]string) error {
	var b strings.Builder
	b.WriteString(knownRejectionsHead)
	for _, p := range sortedKeys(rejected) {
		fmt.Fprintf(&b, "%s %s\n", p, rejected[p])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package chart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ChartDir, "Chart.yaml")); err != nil {
		t.Fatalf("repository root not found from the test's directory: %v", err)
	}
	return root
}

// TestDefaultValuesInstallWhatArtifactsInstall: `helm install` with the
// chart's defaults and `kubectl apply -k artifacts/` create the same
// objects, field for field, but for Helm's own labels.
func TestDefaultValuesInstallWhatArtifactsInstall(t *testing.T) {
	root := repoRoot(t)
	rendered, err := Render(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	built, err := Kustomize(root)
	if err != nil {
		t.Fatal(err)
	}
	chartObjs, chartKeys, err := Index(rendered)
	if err != nil {
		t.Fatalf("chart: %v", err)
	}
	kustObjs, kustKeys, err := Index(built)
	if err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	if diff := cmp.Diff(kustKeys, chartKeys); diff != "" {
		t.Fatalf("objects differ (-artifacts +chart):\n%s", diff)
	}
	for _, k := range chartKeys {
		got := chartObjs[k]
		// Helm installs crds/ verbatim: no template, no labels added.
		for _, l := range HelmLabels {
			if got.GetKind() == "CustomResourceDefinition" {
				break
			}
			if _, ok := got.GetLabels()[l]; !ok {
				t.Errorf("%s: chart object lacks label %s", k, l)
			}
		}
		if diff := cmp.Diff(kustObjs[k].Object, WithoutHelmLabels(got).Object); diff != "" {
			t.Errorf("%s differs (-artifacts +chart):\n%s", k, diff)
		}
	}
	// Guard against comparing two empty lists.
	for _, kind := range []string{"CustomResourceDefinition", "Deployment", "Service", "ClusterRole", "ValidatingAdmissionPolicy", "Addon", "Function", "Namespace"} {
		if !slices.ContainsFunc(rendered, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
			t.Errorf("the chart renders no %s", kind)
		}
	}
}

// TestChartCRDsAreArtifactsCRDs: the chart's crds/ are byte for byte
// artifacts/crds (hack/update-codegen.sh copies them; make verify checks).
func TestChartCRDsAreArtifactsCRDs(t *testing.T) {
	root := repoRoot(t)
	want, err := filepath.Glob(filepath.Join(root, "artifacts/crds/*.yaml"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no CRDs in artifacts/crds: %v", err)
	}
	got, _ := filepath.Glob(filepath.Join(root, ChartDir, "crds/*.yaml"))
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if diff := cmp.Diff(names(want), names(got)); diff != "" {
		t.Fatalf("chart crds/ files differ from artifacts/crds (-artifacts +chart); run hack/update-codegen.sh:\n%s", diff)
	}
	for _, p := range want {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(root, ChartDir, "crds", filepath.Base(p)))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s: chart copy differs from artifacts/crds (%v); run hack/update-codegen.sh", filepath.Base(p), err)
		}
	}
}

// find returns the rendered object of kind and name, failing if absent.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

// field reads a nested field of o as YAML, for comparison with a literal.
func field(t *testing.T, o *unstructured.Unstructured, path ...string) string {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return "<absent>"
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func values(t *testing.T, doc string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestValues: each value reaches the field it is documented to set.
func TestValues(t *testing.T) {
	root := repoRoot(t)
	tests := []struct {
		name   string
		values string
		// want maps kind/name and a dotted field path to its YAML.
		want map[[3]string]string
		// absent kinds must not be rendered.
		absent []string
	}{{
		name: "defaults",
		want: map[[3]string]string{
			{"Deployment", "restore-controller", "spec.replicas"}:                              "1",
			{"Deployment", "restore-controller", "spec.template.spec.nodeSelector"}:            "<absent>",
			{"Function", "kopia-restore", "spec.image"}:                                        "ghcr.io/restore-controller/restore-executor:v0.1.0",
			{"Service", "restore-controller-metrics", "spec.ports"}:                            "- name: metrics\n  port: 8080\n  protocol: TCP\n  targetPort: metrics",
			{"Namespace", Namespace, "metadata.labels.pod-security\\.kubernetes\\.io/enforce"}: "restricted",
		},
	}, {
		name: "image, replicas, leader election, log level, metrics, pushgateway, resources, placement",
		values: `
image: {repository: registry.example/rc, tag: v9.9.9, pullPolicy: Always}
executorImage: {repository: registry.example/rx, tag: v9.9.8}
replicas: 3
logLevel: 4
metrics: {port: 9090, pushgatewayURL: "http://pushgateway.monitoring:9091"}
health: {port: 9091}
resources: {requests: {cpu: 1, memory: 1Gi}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: backup, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}
priorityClassName: system-cluster-critical
extraArgs: [--workers=4]
`,
		want: map[[3]string]string{
			{"Deployment", "restore-controller", "spec.replicas"}:                                                                                             "3",
			{"Deployment", "restore-controller", "spec.template.spec.nodeSelector"}:                                                                           "kubernetes.io/os: linux",
			{"Deployment", "restore-controller", "spec.template.spec.tolerations"}:                                                                            "- effect: NoSchedule\n  key: dedicated\n  operator: Equal\n  value: backup",
			{"Deployment", "restore-controller", "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"}: "- matchExpressions:\n  - key: zone\n    operator: In\n    values:\n    - a",
			{"Deployment", "restore-controller", "spec.template.spec.priorityClassName"}:                                                                      "system-cluster-critical",
			{"Function", "kopia-restore", "spec.image"}:                                                                                                       "registry.example/rx:v9.9.8",
			{"Function", "kubedump-restore", "spec.image"}:                                                                                                    "registry.example/rx:v9.9.8",
			{"Service", "restore-controller-metrics", "spec.ports"}:                                                                                           "- name: metrics\n  port: 9090\n  protocol: TCP\n  targetPort: metrics",
		},
	}, {
		name:   "namespace not created, admission, user roles and addons off",
		values: `{namespace: {create: false}, admission: {enabled: false}, userRoles: {enabled: false}, addons: {enabled: false}, metrics: {service: {enabled: false}}}`,
		absent: []string{"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Addon", "Function", "Service"},
		want: map[[3]string]string{
			{"ClusterRole", "restore-controller-view", "metadata.name"}: "<absent>",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render(root, values(t, tt.values))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if want == "<absent>" && k[2] == "metadata.name" {
					for _, o := range objs {
						if o.GetKind() == k[0] && o.GetName() == k[1] {
							t.Errorf("%s %s rendered, want none", k[0], k[1])
						}
					}
					continue
				}
				o := find(t, objs, k[0], k[1])
				if got := field(t, o, splitPath(k[2])...); got != want {
					t.Errorf("%s %s %s = %q, want %q", k[0], k[1], k[2], got, want)
				}
			}
			for _, kind := range tt.absent {
				for _, o := range objs {
					if o.GetKind() == kind {
						t.Errorf("%s %s rendered, want no %s", kind, o.GetName(), kind)
					}
				}
			}
		})
	}
}

// TestControllerContainer: the values that become the controller's flags,
// image and resources.
func TestControllerContainer(t *testing.T) {
	root := repoRoot(t)
	tests := []struct {
		name      string
		values    string
		image     string
		pull      string
		args      []string
		resources string
		ports     string
	}{{
		name:      "defaults are artifacts/deploy's",
		image:     "ghcr.io/restore-controller/restore-controller:v0.1.0",
		pull:      "IfNotPresent",
		args:      []string{"--leader-elect=true", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081", "--workers=8", "--kube-api-qps=200", "--kube-api-burst=300"},
		resources: "limits:\n  memory: 512Mi\nrequests:\n  cpu: 100m\n  memory: 128Mi",
		ports:     "- containerPort: 8080\n  name: metrics\n  protocol: TCP\n- containerPort: 8081\n  name: health\n  protocol: TCP",
	}, {
		name: "every flag value set",
		values: `
image: {repository: registry.example/rc, tag: v9.9.9, pullPolicy: Always}
leaderElection: {enabled: false}
logLevel: 4
metrics: {port: 9090, pushgatewayURL: "http://pushgateway.monitoring:9091"}
health: {port: 9091}
workers: 4
kubeAPI: {qps: 50, burst: 80}
resources: {requests: {cpu: 1}}
extraArgs: [--default-hook-timeout=10m]
`,
		image: "registry.example/rc:v9.9.9",
		pull:  "Always",
		args:  []string{"--leader-elect=false", "--metrics-bind-address=:9090", "--health-probe-bind-address=:9091", "--workers=4", "--kube-api-qps=50", "--kube-api-burst=80", "--pushgateway-url=http://pushgateway.monitoring:9091", "--v=4", "--default-hook-timeout=10m"},
		// Helm merges values into the defaults: memory stays.
		resources: "limits:\n  memory: 512Mi\nrequests:\n  cpu: 1\n  memory: 128Mi",
		ports:     "- containerPort: 9090\n  name: metrics\n  protocol: TCP\n- containerPort: 9091\n  name: health\n  protocol: TCP",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render(root, values(t, tt.values))
			if err != nil {
				t.Fatal(err)
			}
			d := find(t, objs, "Deployment", "restore-controller")
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			if len(containers) != 1 {
				t.Fatalf("%d containers, want 1", len(containers))
			}
			c := &unstructured.Unstructured{Object: containers[0].(map[string]any)}
			if got := field(t, c, "image"); got != tt.image {
				t.Errorf("image = %q, want %q", got, tt.image)
			}
			if got := field(t, c, "imagePullPolicy"); got != tt.pull {
				t.Errorf("imagePullPolicy = %q, want %q", got, tt.pull)
			}
			args, _, _ := unstructured.NestedStringSlice(c.Object, "args")
			if diff := cmp.Diff(tt.args, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if got := field(t, c, "resources"); got != tt.resources {
				t.Errorf("resources = %q, want %q", got, tt.resources)
			}
			if got := field(t, c, "ports"); got != tt.ports {
				t.Errorf("ports = %q, want %q", got, tt.ports)
			}
		})
	}
}

// TestInvalidValues: values that would install a broken controller are
// refused at render time, naming the value.
func TestInvalidValues(t *testing.T) {
	root := repoRoot(t)
	_, err := Render(root, values(t, `{replicas: 2, leaderElection: {enabled: false}}`))
	if err == nil || !strings.Contains(err.Error(), "leaderElection.enabled") {
		t.Fatalf("replicas 2 without leader election: err = %v, want one naming leaderElection.enabled", err)
	}
}

// splitPath splits a dotted path; "\." is a literal dot in a key.
func splitPath(p string) []string {
	const dot = "\x00"
	p = strings.ReplaceAll(p, `\.`, dot)
	parts := strings.Split(p, ".")
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], dot, ".")
	}
	return parts
}

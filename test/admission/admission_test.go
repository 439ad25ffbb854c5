// Package admission tests the CRDs' schemas and CEL rules on a real
// kube-apiserver: every rule rejects what it should, with a message that
// names the field, and accepts what it should.
package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/framework"
)

const ns = "admission"

var (
	c       *cluster.Cluster
	applier framework.Once[*framework.Applier]
)

func TestMain(m *testing.M) {
	os.Exit(cluster.TestMain(m, cluster.Options{}, &c))
}

// setup installs the CRDs and creates the namespace ns once, and returns an
// Applier acting as the cluster admin.
func setup(t *testing.T) *framework.Applier {
	t.Helper()
	return applier.Do(t, "setting up admission tests", func() (*framework.Applier, error) {
		ctx := context.Background()
		if err := framework.InstallProjectCRDs(ctx, c.Config()); err != nil {
			return nil, err
		}
		if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		return framework.NewApplier(c.Config())
	})
}

// restoreSession returns a valid RestoreSession named name with spec lines
// appended under spec (indented by two spaces).
func restoreSession(name string, extraSpec ...string) string {
	doc := fmt.Sprintf(`apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata:
  name: %s
  namespace: %s
spec:
  addon:
    name: workload-addon
    tasks:
    - name: logical-backup-restore
`, name, ns)
	for _, l := range extraSpec {
		doc += "  " + l + "\n"
	}
	if !strings.Contains(doc, "  dataSource:") {
		doc += "  dataSource:\n    repository: repo\n    snapshot: latest\n"
	}
	return doc
}

type admissionCase struct {
	name string
	doc  string
	// want lists substrings of the rejection; empty means accepted.
	want []string
}

func runCases(t *testing.T, cases []admissionCase) {
	a := setup(t)
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := a.Create(ctx, tc.doc)
			if err == nil {
				t.Cleanup(func() { _ = a.Delete(ctx, tc.doc) })
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("rejected a valid object: %v", err)
				}
				if obj == nil {
					t.Fatal("no object returned")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted an invalid object, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRestoreSessionAdmission(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join(root, "artifacts", "examples", "sample-restore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sampleInNS := strings.Replace(string(sample), "namespace: demo\nspec:", "namespace: "+ns+"\nspec:", 1)

	runCases(t, []admissionCase{
		{name: "reference sample", doc: sampleInNS},
		{name: "minimal", doc: restoreSession("minimal")},
		{name: "snapshot by name without repository", doc: restoreSession("by-name", "dataSource:", "  snapshot: repo-session-1")},
		{name: "snapshot is required", doc: restoreSession("no-snapshot", "dataSource:", "  repository: repo"),
			want: []string{"spec.dataSource.snapshot", "Required value"}},
		{name: "latest needs a repository", doc: restoreSession("latest-no-repo", "dataSource:", "  snapshot: latest"),
			want: []string{"spec.dataSource.repository is required when spec.dataSource.snapshot is 'latest'"}},
		{name: "duplicate components", doc: restoreSession("dup-components", "dataSource:", "  repository: repo", "  snapshot: latest", "  components: [pod-0, pod-0]"),
			want: []string{"spec.dataSource.components[1]", "Duplicate value"}},
		{name: "dataSource namespace must be a DNS label", doc: restoreSession("bad-ds-ns", "dataSource:", "  namespace: Not_A_Namespace", "  repository: repo", "  snapshot: latest"),
			want: []string{"spec.dataSource.namespace"}},
		{name: "statefulset target without a group is apps", doc: restoreSession("sts-core", "target: {kind: StatefulSet, name: db}")},
		{name: "deployment target with an empty group is apps", doc: restoreSession("deploy-empty", "target: {apiGroup: '', kind: Deployment, name: web}")},
		{name: "daemonset target in another group", doc: restoreSession("ds-ext", "target: {apiGroup: extensions, kind: DaemonSet, name: agent}"),
			want: []string{"spec.target.apiGroup must be 'apps' (or empty)"}},
		{name: "statefulset target in apps group", doc: restoreSession("sts-apps", "target: {apiGroup: apps, kind: StatefulSet, name: db}")},
		{name: "pvc target in core group", doc: restoreSession("pvc-core", "target: {kind: PersistentVolumeClaim, name: data}")},
		{name: "pvc target not in apps group", doc: restoreSession("pvc-apps", "target: {apiGroup: apps, kind: PersistentVolumeClaim, name: data}"),
			want: []string{"spec.target.apiGroup must be empty (the core group)"}},
		{name: "target needs a name", doc: restoreSession("target-no-name", "target: {apiGroup: apps, kind: Deployment}"),
			want: []string{"spec.target.name", "Required value"}},
		{name: "valid restoreTimeout", doc: restoreSession("timeout-ok", "restoreTimeout: 1h30m")},
		{name: "restoreTimeout not a duration", doc: restoreSession("timeout-abc", "restoreTimeout: abc"),
			want: []string{"spec.restoreTimeout", "must be a positive duration"}},
		{name: "negative restoreTimeout", doc: restoreSession("timeout-neg", "restoreTimeout: -5m"),
			want: []string{"spec.restoreTimeout must be a positive duration"}},
		{name: "zero restoreTimeout", doc: restoreSession("timeout-zero", "restoreTimeout: 0s"),
			want: []string{"spec.restoreTimeout must be a positive duration"}},
		{name: "addon needs a task", doc: strings.Replace(restoreSession("no-tasks"), "    tasks:\n    - name: logical-backup-restore\n", "    tasks: []\n", 1),
			want: []string{"spec.addon.tasks", "should have at least 1 items"}},
		{name: "duplicate task names", doc: strings.Replace(restoreSession("dup-tasks"), "    - name: logical-backup-restore\n", "    - name: logical-backup-restore\n    - name: logical-backup-restore\n", 1),
			want: []string{"spec.addon.tasks[1]", "Duplicate value"}},
		{name: "nice adjustment out of range", doc: strings.Replace(restoreSession("nice"), "  addon:\n", "  addon:\n    containerRuntimeSettings: {nice: {adjustment: 25}}\n", 1),
			want: []string{"spec.addon.containerRuntimeSettings.nice.adjustment", "less than or equal to 19"}},
		{name: "ionice class out of range", doc: strings.Replace(restoreSession("ionice"), "  addon:\n", "  addon:\n    containerRuntimeSettings: {ionice: {class: 4, classData: 7}}\n", 1),
			want: []string{"spec.addon.containerRuntimeSettings.ionice.class", "less than or equal to 3"}},
		{name: "hooks with timeouts in seconds and durations", doc: restoreSession("hooks-ok",
			"hooks:",
			"  preRestore: [{name: freeze, hookTemplate: {name: ht}, timeout: 30, maxRetry: 2}]",
			"  postRestore: [{name: thaw, hookTemplate: {name: ht, namespace: other}, timeout: 2m, executionPolicy: OnSuccess}]")},
		{name: "pre-restore hook cannot be OnFailure", doc: restoreSession("pre-onfailure",
			"hooks:", "  preRestore: [{name: freeze, hookTemplate: {name: ht}, executionPolicy: OnFailure}]"),
			want: []string{"spec.hooks.preRestore[].executionPolicy must be Always"}},
		{name: "unknown execution policy", doc: restoreSession("policy-bad",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}, executionPolicy: Sometimes}]"),
			want: []string{"spec.hooks.postRestore[0].executionPolicy", "Unsupported value"}},
		{name: "hook timeout not a duration", doc: restoreSession("hook-timeout-abc",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}, timeout: abc}]"),
			want: []string{"spec.hooks.postRestore[0].timeout", "timeout must be a positive number of seconds or a positive duration"}},
		{name: "hook timeout zero", doc: restoreSession("hook-timeout-zero",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}, timeout: 0}]"),
			want: []string{"spec.hooks.postRestore[0].timeout", "timeout must be a positive number"}},
		{name: "negative maxRetry", doc: restoreSession("hook-retry",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}, maxRetry: -1}]"),
			want: []string{"spec.hooks.postRestore[0].maxRetry", "greater than or equal to 0"}},
		{name: "duplicate hook names", doc: restoreSession("hook-dup",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}}, {name: thaw, hookTemplate: {name: ht2}}]"),
			want: []string{"spec.hooks.postRestore[1]", "Duplicate value"}},
		{name: "hook needs a template", doc: restoreSession("hook-no-template",
			"hooks:", "  postRestore: [{name: thaw}]"),
			want: []string{"spec.hooks.postRestore[0].hookTemplate", "Required value"}},
		{name: "manifest options rename restored objects", doc: restoreSession("manifest-ok",
			"manifestOptions:", "  restoreNamespace: restored", "  postgres: {dbName: pg-new, authSecretName: pg-auth-new, configSecret: false}")},
		{name: "dbName with db false", doc: restoreSession("manifest-db",
			"manifestOptions:", "  postgres: {db: false, dbName: pg-new}"),
			want: []string{"spec.manifestOptions.postgres", "dbName renames the database object, which db: false does not restore"}},
		{name: "authSecretName with authSecret false", doc: restoreSession("manifest-auth",
			"manifestOptions:", "  mySQL: {authSecret: false, authSecretName: auth}"),
			want: []string{"spec.manifestOptions.mySQL", "authSecretName renames the auth Secret"}},
		{name: "configSecretName with configSecret false", doc: restoreSession("manifest-config",
			"manifestOptions:", "  mariaDB: {configSecret: false, configSecretName: conf}"),
			want: []string{"spec.manifestOptions.mariaDB", "configSecretName renames the config Secret"}},
		{name: "dbName must be a DNS label", doc: restoreSession("manifest-dbname",
			"manifestOptions:", "  mongoDB: {dbName: Bad_Name}"),
			want: []string{"spec.manifestOptions.mongoDB.dbName"}},
		{name: "manifest options in KubeStash's current shape", doc: restoreSession("manifest-current",
			"manifestOptions:",
			"  workload: {restoreNamespace: restored}",
			"  postgres: {restoreNamespace: restored, archiver: false, archiverRef: {name: arc, namespace: db}, initScript: true, tlsIssuerRef: {apiGroup: cert-manager.io, kind: Issuer, name: ca}}",
			"  clickhouse: {restoreNamespace: restored}", "  msSQLServer: {restoreNamespace: restored, tlsIssuerRef: {kind: Issuer, name: ca}}",
			"  druid: {deepStorageSecret: false}", "  zooKeeper: {dbName: zk}", "  singlestore: {}", "  redis: {authSecretName: r}",
			"  redisSentinel: {sentinel: true, SentinelName: s}")},
		{name: "tlsIssuerRef and issuerRefName", doc: restoreSession("manifest-issuer",
			"manifestOptions:", "  postgres: {issuerRefName: a, tlsIssuerRef: {kind: Issuer, name: b}}"),
			want: []string{"spec.manifestOptions.postgres", "set tlsIssuerRef or issuerRefName, not both"}},
		{name: "point-in-time recovery instead of a snapshot", doc: restoreSession("pitr",
			"dataSource:", "  repository: repo", "  pitr: {targetTime: \"2026-01-02T03:04:05Z\", exclusive: true}")},
		{name: "podPlacementPolicy and hook serviceAccountAnnotations", doc: strings.Replace(restoreSession("placement",
			"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}, runtimeSettings: {pod: {serviceAccountAnnotations: {iam.gke.io/gcp-service-account: a@b.iam.gserviceaccount.com}}}}]"),
			"  addon:\n", "  addon:\n    jobTemplate: {spec: {podPlacementPolicy: {name: default}}}\n", 1)},
		{name: "unknown field is rejected", doc: restoreSession("unknown", "restoreTimout: 5m"),
			want: []string{"unknown field \"spec.restoreTimout\""}},
	})
}

func TestRestoreSessionDefaults(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	doc := restoreSession("defaults",
		"hooks:", "  postRestore: [{name: thaw, hookTemplate: {name: ht}}]",
		"manifestOptions:", "  postgres: {dbName: pg}")
	obj, err := a.Create(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Delete(ctx, doc) })
	hooks, _, _ := unstructured.NestedSlice(obj.Object, "spec", "hooks", "postRestore")
	hook := hooks[0].(map[string]any)
	if hook["executionPolicy"] != "Always" || hook["maxRetry"] != int64(0) {
		t.Errorf("hook defaults: executionPolicy=%v maxRetry=%v, want Always and 0", hook["executionPolicy"], hook["maxRetry"])
	}
	pg, _, _ := unstructured.NestedMap(obj.Object, "spec", "manifestOptions", "postgres")
	if pg["db"] != true || pg["authSecret"] != true || pg["configSecret"] != true {
		t.Errorf("manifest defaults: %v, want db, authSecret and configSecret true", pg)
	}
}

func TestRestoreSessionSpecIsImmutable(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	doc := restoreSession("immutable")
	if _, err := a.Create(ctx, doc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Delete(ctx, doc) })

	_, err := a.Update(ctx, strings.Replace(doc, "snapshot: latest", "snapshot: repo-session-2", 1))
	if err == nil || !strings.Contains(err.Error(), "spec is immutable") {
		t.Fatalf("changing the spec: got %v, want the immutability rule", err)
	}
	// Metadata can still change: labels, annotations, finalizers.
	if _, err := a.Update(ctx, strings.Replace(doc, "  name: immutable\n", "  name: immutable\n  labels: {team: db}\n", 1)); err != nil {
		t.Fatalf("changing labels: %v", err)
	}
}

func TestHookTemplateAdmission(t *testing.T) {
	hookTemplate := func(name, spec string) string {
		return fmt.Sprintf("apiVersion: core.kubestash.com/v1alpha1\nkind: HookTemplate\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", name, ns, spec)
	}
	runCases(t, []admissionCase{
		{name: "operator http get", doc: hookTemplate("http", "  action: {httpGet: {path: /ready, port: 8080, host: 127.0.0.1}}\n  executor: {type: Operator}\n")},
		{name: "pod exec on all", doc: hookTemplate("exec", "  action: {exec: {command: [sync]}}\n  executor: {type: Pod, pod: {strategy: ExecuteOnAll}}\n")},
		{name: "function", doc: hookTemplate("fn", "  executor: {type: Function, function: {name: notify}}\n  usagePolicy: {allowedNamespaces: {from: All}}\n")},
		{name: "two actions", doc: hookTemplate("two", "  action: {exec: {command: [sync]}, tcpSocket: {port: 5432}}\n  executor: {type: Pod, pod: {}}\n"),
			want: []string{"spec.action", "exactly one of exec, httpGet, httpPost or tcpSocket must be set"}},
		{name: "operator cannot exec", doc: hookTemplate("op-exec", "  action: {exec: {command: [sync]}}\n  executor: {type: Operator}\n"),
			want: []string{"spec.action.exec cannot run with the Operator executor"}},
		{name: "function executor needs a function", doc: hookTemplate("fn-missing", "  executor: {type: Function}\n"),
			want: []string{"spec.executor.function is required when spec.executor.type is Function"}},
		{name: "pod executor needs pod", doc: hookTemplate("pod-missing", "  action: {exec: {command: [sync]}}\n  executor: {type: Pod}\n"),
			want: []string{"spec.executor.pod is required when spec.executor.type is Pod"}},
		{name: "operator needs an action", doc: hookTemplate("op-no-action", "  executor: {type: Operator}\n"),
			want: []string{"spec.action is required for the Pod and Operator executors"}},
		{name: "pod executor with an owner, without uid (KubeStash docs)", doc: hookTemplate("owner",
			"  action: {exec: {command: [sync]}}\n  executor: {type: Pod, pod: {selector: app=web, owner: {apiVersion: apps/v1, kind: Deployment, name: web}, strategy: ExecuteOnAll}}\n")},
		{name: "owner needs a name", doc: hookTemplate("owner-no-name",
			"  action: {exec: {command: [sync]}}\n  executor: {type: Pod, pod: {owner: {apiVersion: apps/v1, kind: Deployment}}}\n"),
			want: []string{"spec.executor.pod.owner.name", "Required value"}},
		{name: "unknown executor", doc: hookTemplate("bad-exec", "  executor: {type: Sidecar}\n"),
			want: []string{"spec.executor.type", "Unsupported value"}},
		{name: "selector policy needs a selector", doc: hookTemplate("sel", "  usagePolicy: {allowedNamespaces: {from: Selector}}\n  executor: {type: Function, function: {name: notify}}\n"),
			want: []string{"spec.usagePolicy.allowedNamespaces", "selector is required when from is Selector"}},
	})
}

func TestStorageAdmission(t *testing.T) {
	storage := func(name, spec string) string {
		return fmt.Sprintf("apiVersion: storage.kubestash.com/v1alpha1\nkind: BackupStorage\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", name, ns, spec)
	}
	repository := func(name, spec string) string {
		return fmt.Sprintf("apiVersion: storage.kubestash.com/v1alpha1\nkind: Repository\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", name, ns, spec)
	}
	runCases(t, []admissionCase{
		{name: "local storage", doc: storage("local", "  storage: {provider: local, local: {mountPath: /kopia, subPath: repos, persistentVolumeClaim: {claimName: backups}}}\n")},
		{name: "s3 storage", doc: storage("s3", "  storage: {provider: s3, s3: {endpoint: http://127.0.0.1:9000, bucket: backups, prefix: team-a, secretName: s3-creds}}\n  usagePolicy: {allowedNamespaces: {from: All}}\n")},
		{name: "local provider without local", doc: storage("local-missing", "  storage: {provider: local, s3: {endpoint: e, bucket: bkt}}\n"),
			want: []string{"spec.storage.local is required, and spec.storage.s3, gcs and azure not allowed, when spec.storage.provider is local"}},
		{name: "s3 provider with local", doc: storage("s3-local", "  storage: {provider: s3, s3: {endpoint: e, bucket: bkt}, local: {mountPath: /kopia, emptyDir: {}}}\n"),
			want: []string{"spec.storage.s3 is required, and spec.storage.local, gcs and azure not allowed, when spec.storage.provider is s3"}},
		{name: "gcs storage", doc: storage("gcs", "  storage: {provider: gcs, gcs: {bucket: backups, prefix: /backup/demo, secretName: gcs-secret, maxConnections: 4}}\n")},
		{name: "azure storage", doc: storage("azure", "  storage: {provider: azure, azure: {storageAccount: acct, container: backups, prefix: /backup/demo, secretName: azure-secret, maxConnections: 4, storageDomain: blob.core.chinacloudapi.cn}}\n")},
		{name: "gcs provider without gcs", doc: storage("gcs-missing", "  storage: {provider: gcs, azure: {storageAccount: a, container: c}}\n"),
			want: []string{"spec.storage.gcs is required, and spec.storage.local, s3 and azure not allowed, when spec.storage.provider is gcs"}},
		{name: "azure provider with gcs", doc: storage("azure-gcs", "  storage: {provider: azure, azure: {storageAccount: a, container: c}, gcs: {bucket: bkt}}\n"),
			want: []string{"spec.storage.azure is required, and spec.storage.local, s3 and gcs not allowed, when spec.storage.provider is azure"}},
		{name: "azure storageDomain with scheme", doc: storage("azure-scheme", "  storage: {provider: azure, azure: {storageAccount: a, container: c, storageDomain: 'https://blob.example'}}\n"),
			want: []string{"spec.storage.azure.storageDomain is a domain such as blob.core.chinacloudapi.cn, without scheme"}},
		{name: "unsupported provider", doc: storage("b2", "  storage: {provider: b2}\n"),
			want: []string{"spec.storage.provider", "Unsupported value: \"b2\""}},
		{name: "relative mountPath", doc: storage("rel", "  storage: {provider: local, local: {mountPath: kopia, emptyDir: {}}}\n"),
			want: []string{"spec.storage.local.mountPath"}},
		{name: "subPath escaping the volume", doc: storage("escape", "  storage: {provider: local, local: {mountPath: /kopia, subPath: a/../../etc, emptyDir: {}}}\n"),
			want: []string{"spec.storage.local.subPath must be a relative path without '..'"}},
		{name: "s3 needs a bucket", doc: storage("nobucket", "  storage: {provider: s3, s3: {endpoint: e}}\n"),
			want: []string{"spec.storage.s3.bucket", "Required value"}},
		{name: "repository", doc: repository("repo", "  storageRef: {name: local, namespace: other}\n  path: /demo/app\n  encryptionSecret: {name: enc}\n")},
		{name: "repository path escaping", doc: repository("repo-escape", "  storageRef: {name: local}\n  path: demo/../../x\n"),
			want: []string{"spec.path must not contain '..'"}},
		{name: "repository needs storage", doc: repository("repo-nostorage", "  path: demo\n"),
			want: []string{"spec.storageRef", "Required value"}},
		{name: "snapshot with kopia stats", doc: fmt.Sprintf(`apiVersion: storage.kubestash.com/v1alpha1
kind: Snapshot
metadata: {name: snap, namespace: %s, labels: {kubestash.com/repo-name: repo}}
spec: {repository: repo, appRef: {apiGroup: apps, kind: StatefulSet, name: db, namespace: %s}}
`, ns, ns)},
		// KubeStash's schema lets a Snapshot omit its Repository (its
		// VolumeSnapshotter Snapshots do); the controller refuses to
		// restore one.
		{name: "snapshot without a repository", doc: fmt.Sprintf("apiVersion: storage.kubestash.com/v1alpha1\nkind: Snapshot\nmetadata: {name: snap2, namespace: %s}\nspec: {}\n", ns)},
	})
}

func TestAddonAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "addon", doc: `apiVersion: addons.kubestash.com/v1alpha1
kind: Addon
metadata: {name: workload-addon}
spec:
  restoreTasks:
  - name: logical-backup-restore
    function: workload-restore
    driver: Kopia
    parameters: [{name: exclude, usage: patterns to skip}]
    volumeTemplate: [{name: scratch, source: {emptyDir: {}}}]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`},
		{name: "duplicate restore tasks", doc: `apiVersion: addons.kubestash.com/v1alpha1
kind: Addon
metadata: {name: dup-addon}
spec:
  restoreTasks: [{name: t, function: f}, {name: t, function: g}]
`, want: []string{"spec.restoreTasks[1]", "Duplicate value"}},
		{name: "task needs a function", doc: `apiVersion: addons.kubestash.com/v1alpha1
kind: Addon
metadata: {name: nofn-addon}
spec:
  restoreTasks: [{name: t}]
`, want: []string{"spec.restoreTasks[0].function", "Required value"}},
		{name: "function", doc: "apiVersion: addons.kubestash.com/v1alpha1\nkind: Function\nmetadata: {name: workload-restore}\nspec: {image: restore-executor:dev, args: [restore, '--component=${COMPONENT}']}\n"},
		{name: "function needs an image", doc: "apiVersion: addons.kubestash.com/v1alpha1\nkind: Function\nmetadata: {name: noimage}\nspec: {args: [x]}\n",
			want: []string{"spec.image", "Required value"}},
	})
}

// The claim templates of a RestoreSession keep their metadata: the API
// server would prune metadata.name (and with it the claim's name) were the
// embedded ObjectMeta schema'd as a bare object. Target claim templates and
// the ephemeral claim template of an addon volume are both read back as
// written.
func TestClaimTemplateMetadataKept(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	doc := restoreSession("claim-metadata",
		"target: {apiGroup: apps, kind: StatefulSet, name: db}",
		"addon:",
		"  name: workload-addon",
		"  tasks:",
		"  - name: logical-backup-restore",
		"    targetVolumes:",
		"      volumeClaimTemplates:",
		"      - metadata:",
		"          name: data-${POD_ORDINAL}",
		"          labels: {tier: db}",
		"          annotations: {note: kept}",
		"        spec:",
		"          accessModes: [ReadWriteOnce]",
		"          resources: {requests: {storage: 1Gi}}",
		"    addonVolumes:",
		"    - name: scratch",
		"      source:",
		"        volumeClaimTemplate:",
		"          metadata:",
		"            name: scratch-claim",
		"            labels: {purpose: scratch}",
		"          spec:",
		"            accessModes: [ReadWriteOnce]",
		"            resources: {requests: {storage: 1Gi}}",
	)
	// restoreSession writes a default addon; this one replaces it.
	doc = strings.Replace(doc, "  addon:\n    name: workload-addon\n    tasks:\n    - name: logical-backup-restore\n", "", 1)
	// Strict field validation: a pruned field would be an error here.
	if _, err := a.Create(ctx, doc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	t.Cleanup(func() { _ = a.Delete(ctx, doc) })

	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(schema.GroupVersionResource{Group: "core.kubestash.com", Version: "v1alpha1", Resource: "restoresessions"}).
		Namespace(ns).Get(ctx, "claim-metadata", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _, _ := unstructured.NestedSlice(got.Object, "spec", "addon", "tasks")
	if len(tasks) != 1 {
		t.Fatalf("spec.addon.tasks = %v", tasks)
	}
	task := tasks[0].(map[string]any)
	templates, _, _ := unstructured.NestedSlice(task, "targetVolumes", "volumeClaimTemplates")
	if len(templates) != 1 {
		t.Fatalf("volumeClaimTemplates = %v", templates)
	}
	tpl := templates[0].(map[string]any)
	for path, want := range map[string]string{"name": "data-${POD_ORDINAL}", "labels.tier": "db", "annotations.note": "kept"} {
		if v, _, _ := unstructured.NestedString(tpl, append([]string{"metadata"}, strings.Split(path, ".")...)...); v != want {
			t.Errorf("volumeClaimTemplates[0].metadata.%s = %q, want %q", path, v, want)
		}
	}
	volumes, _, _ := unstructured.NestedSlice(task, "addonVolumes")
	if len(volumes) != 1 {
		t.Fatalf("addonVolumes = %v", volumes)
	}
	vol := volumes[0].(map[string]any)
	for path, want := range map[string]string{"name": "scratch-claim", "labels.purpose": "scratch"} {
		if v, _, _ := unstructured.NestedString(vol, append([]string{"source", "volumeClaimTemplate", "metadata"}, strings.Split(path, ".")...)...); v != want {
			t.Errorf("addonVolumes[0].source.volumeClaimTemplate.metadata.%s = %q, want %q", path, v, want)
		}
	}
}

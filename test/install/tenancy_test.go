package install

import (
	"fmt"
	"strings"
	"testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// asTenant runs kubectl as user "tenant" (impersonated by the admin).
func asTenant(args ...string) []string {
	return append([]string{"--as=tenant"}, args...)
}

// TestTenantIsolation tries, as a tenant holding Kubernetes' admin role in
// its own namespace only, each way a RestoreSession could reach another
// namespace: another namespace's backup decrypted with its key, a Secret of
// kube-system, a manifest restore into kube-system, a HookTemplate and
// Snapshot of another namespace. Admission refuses each, naming the field
// and the missing permission, and no Role, RoleBinding, ServiceAccount or
// Job appears anywhere. The same RestoreSessions made by a cluster admin
// end Invalid without the owners' consent (the controller checks it too,
// should the admission policy be removed); with consent, restoring the
// other namespace's backup into the tenant's volume is a supported
// workflow and succeeds byte for byte.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	install(t)
	victim, want := pvcWorld(t, "victim", 41)
	tenant := newNamespace(t, "tenant")
	pvc(t, tenant, "restore-pvc")
	kubectl(t, "", "create", "rolebinding", "tenant-admin", "-n", tenant, "--clusterrole=admin", "--user=tenant")
	apply(t, fmt.Sprintf(`apiVersion: core.kubestash.com/v1alpha1
kind: HookTemplate
metadata: {name: quiesce, namespace: %s}
spec:
  executor: {type: Operator}
  action:
    httpGet: {host: 10.0.0.1, port: 8080, path: /quiesce}
`, victim))

	// The tenant may create RestoreSessions in its namespace: the
	// aggregated roles reached admin.
	if out, err := tryKubectl("", asTenant("auth", "can-i", "create", "restoresessions.core.kubestash.com", "-n", tenant)...); err != nil || strings.TrimSpace(out) != "yes" {
		t.Fatalf("tenant may not create RestoreSessions in its own namespace: %q %v", out, err)
	}

	fromVictim := fmt.Sprintf("{namespace: %s, repository: repo, snapshot: snap, encryptionSecret: {name: encrypt-secret, namespace: %s}}", victim, victim)
	manifestRestore := func(name, restoreNS string) string {
		return fmt.Sprintf(`apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata: {name: %s, namespace: %s}
spec:
  addon:
    name: kubedb-addon
    tasks:
    - name: manifest-restore
  dataSource: %s
  manifestOptions: {restoreNamespace: %s}
`, name, tenant, fromVictim, restoreNS)
	}
	// The API server reports the first permission missing.
	for _, tc := range []struct {
		name, yaml string
		setup      func()
		wantErr    string
	}{{
		name:    "another namespace's backup with its key",
		yaml:    pvcRestore(tenant, "steal-backup", "pvc-addon", fromVictim, ""),
		wantErr: fmt.Sprintf(`spec.dataSource.repository: user "tenant" may not get repositories.storage.kubestash.com "repo" in namespace %q`, victim),
	}, {
		name:    "a Secret of kube-system",
		yaml:    pvcRestore(tenant, "steal-secret", "pvc-addon", "{repository: repo, snapshot: snap, encryptionSecret: {name: bootstrap-token, namespace: kube-system}}", ""),
		wantErr: `spec.dataSource.encryptionSecret: user "tenant" may not get secrets "bootstrap-token" in namespace "kube-system"`,
	}, {
		name:    "a manifest restore into kube-system",
		yaml:    strings.Replace(manifestRestore("into-kube-system", "kube-system"), fromVictim, "{repository: repo, snapshot: snap}", 1),
		wantErr: `spec.manifestOptions.restoreNamespace: user "tenant" may not create secrets in namespace "kube-system"`,
	}, {
		name: "a HookTemplate of another namespace",
		yaml: strings.Replace(pvcRestore(tenant, "foreign-hook", "pvc-addon", "{repository: repo, snapshot: snap}", ""),
			"  target:", fmt.Sprintf("  hooks:\n    preRestore:\n    - {name: quiesce, hookTemplate: {name: quiesce, namespace: %s}}\n  target:", victim), 1),
		wantErr: fmt.Sprintf(`spec.hooks.preRestore[0].hookTemplate: user "tenant" may not get hooktemplates.core.kubestash.com "quiesce" in namespace %q`, victim),
	}, {
		// Last: it leaves the tenant a grant in victim.
		name: "the latest Snapshot of another namespace, with its Repository readable",
		setup: func() {
			kubectl(t, "", "create", "role", "read-repo", "-n", victim, "--verb=get", "--resource=repositories.storage.kubestash.com", "--resource-name=repo")
			kubectl(t, "", "create", "rolebinding", "tenant-read-repo", "-n", victim, "--role=read-repo", "--user=tenant")
		},
		yaml:    pvcRestore(tenant, "latest-elsewhere", "pvc-addon", fmt.Sprintf("{namespace: %s, repository: repo, snapshot: latest}", victim), ""),
		wantErr: fmt.Sprintf(`spec.dataSource.snapshot: user "tenant" may not list snapshots.storage.kubestash.com in namespace %q`, victim),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			out, err := tryKubectl(tc.yaml, asTenant("apply", "-f", "-")...)
			if err == nil {
				t.Fatalf("admitted: %s", out)
			}
			if !strings.Contains(out, tc.wantErr) {
				t.Errorf("rejection lacks %q:\n%s", tc.wantErr, out)
			}
		})
	}
	if out := kubectl(t, "", "get", "restoresessions", "-n", tenant, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("refused RestoreSessions exist: %s", out)
	}
	expectNoExecutorObjects(t, tenant)

	// A cluster admin passes admission; the controller still refuses
	// what the owners did not consent to.
	apply(t, pvcRestore(tenant, "from-victim", "pvc-addon", fromVictim, ""))
	apply(t, pvcRestore(tenant, "kube-system-secret", "pvc-addon",
		fmt.Sprintf("{namespace: %s, repository: repo, snapshot: snap, encryptionSecret: {name: bootstrap-token, namespace: kube-system}}", victim), ""))
	apply(t, manifestRestore("manifests-into-kube-system", "kube-system"))
	for _, tc := range []struct{ name, want string }{
		{"from-victim", fmt.Sprintf("spec.dataSource.repository: Forbidden: Repository %s/repo is in another namespace", victim)},
		{"kube-system-secret", "spec.dataSource.encryptionSecret: Forbidden: Secret kube-system/bootstrap-token is in another namespace"},
		{"manifests-into-kube-system", `spec.manifestOptions.restoreNamespace: Forbidden: Namespace "kube-system" does not accept manifest restores`},
	} {
		rs := framework.WaitForPhase(t, restoreClient, tenant, tc.name, corev1alpha1.RestoreInvalid, restoreTimeout)
		framework.ExpectConditionMessage(t, rs, corev1alpha1.TypeValidationPassed, tc.want)
	}
	expectNoExecutorObjects(t, tenant)

	// The owner of victim's storage allows every namespace: the restore
	// of its backup into the tenant's volume proceeds by itself. The
	// kube-system Secret and the manifest restore stay refused.
	kubectl(t, "", "patch", "backupstorage", "-n", victim, "local-storage", "--type=merge",
		"-p", `{"spec":{"usagePolicy":{"allowedNamespaces":{"from":"All"}}}}`)
	framework.WaitForPhase(t, restoreClient, tenant, "from-victim", corev1alpha1.RestoreSucceeded, restoreTimeout)
	framework.ExpectSameTree(t, "the tenant's volume", want, framework.ClaimDir(t, c, tenant, "restore-pvc"))
	for _, name := range []string{"kube-system-secret", "manifests-into-kube-system"} {
		if rs := framework.WaitForPhase(t, restoreClient, tenant, name, corev1alpha1.RestoreInvalid, restoreTimeout); rs.Status.Phase != corev1alpha1.RestoreInvalid {
			t.Errorf("%s is %s", name, rs.Status.Phase)
		}
	}
	if out := kubectl(t, "", "get", "roles,rolebindings", "-n", "kube-system", "-l", "kubestash.com/invoker-namespace="+tenant, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("grants in kube-system: %s", out)
	}
}

// expectNoExecutorObjects fails if a Role, RoleBinding, ServiceAccount or
// Job made for a RestoreSession of namespace ns exists in any namespace.
func expectNoExecutorObjects(t *testing.T, ns string) {
	t.Helper()
	out := kubectl(t, "", "get", "roles,rolebindings,serviceaccounts,jobs", "-A", "-l", "kubestash.com/invoker-namespace="+ns, "-o", "name")
	if strings.TrimSpace(out) != "" {
		t.Errorf("objects of refused restores exist:\n%s", out)
	}
}

package cluster

import (
	"context"
	"strings"
)

// controllers run by kube-controller-manager. There is no scheduler (the
// process kubelet binds pods) and no node lifecycle controller (the one node
// never goes away, so it needs no heartbeats). The clusterrole-aggregation
// controller fills the built-in admin, edit and view ClusterRoles, which
// hold no rules without it; the validatingadmissionpolicy-status controller
// type-checks ValidatingAdmissionPolicies into their status.
var controllers = []string{
	"job-controller", "cronjob-controller", "ttl-after-finished-controller",
	"garbage-collector-controller",
	"statefulset-controller", "deployment-controller", "replicaset-controller", "daemonset-controller",
	"namespace-controller", "serviceaccount-controller", "serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"persistentvolume-binder-controller", "persistentvolume-protection-controller",
	"persistentvolumeclaim-protection-controller", "pod-garbage-collector-controller",
	"clusterrole-aggregation-controller", "validatingadmissionpolicy-status-controller",
}

// startControllerManager starts kube-controller-manager with the kubeconfig
// at kubeconfig (a system:masters token, so per-controller service account
// credentials are not needed).
func startControllerManager(ctx context.Context, bin, logDir, kubeconfig string, p *pki) (*process, error) {
	return startProcess(ctx, "kube-controller-manager", logDir, bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + p.saKey,
		"--root-ca-file=" + p.caCert,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--concurrent-job-syncs=5",
		"--v=1",
	})
}

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/restore-controller/restore/test/framework"
)

// TestServiceAccountRBAC: a mapped binary using in-cluster config
// authenticates with its pod's service account token; RBAC allows what a
// Role grants (listing config maps) and forbids the rest (secrets). The
// harness's minted service account config is held to the same rules.
func TestServiceAccountRBAC(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "configmap-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "configmap-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		resource string
		exit     int32
		output   string
	}{
		{"configmaps", 0, "allowed"},
		{"secrets", 3, "forbidden"},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "list-" + tc.resource},
			Spec: corev1.PodSpec{
				ServiceAccountName: "reader",
				RestartPolicy:      corev1.RestartPolicyNever,
				Containers:         []corev1.Container{{Name: "main", Image: workloadImage, Args: []string{"can-list", tc.resource}}},
			},
		}
		final := runPod(t, ns, pod)
		st := final.Status.ContainerStatuses[0]
		if st.State.Terminated == nil || st.State.Terminated.ExitCode != tc.exit {
			t.Errorf("%s: container state %+v, want exit code %d", tc.resource, st.State, tc.exit)
		}
		if log := c.ContainerLog(ns, pod.Name, "main"); !strings.HasPrefix(log, tc.output) {
			t.Errorf("%s: output %q, want it to start with %q", tc.resource, log, tc.output)
		}
	}

	cfg, err := c.ServiceAccountConfig(ctx, ns, "reader")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("service account config: listing configmaps: %v", err)
	}
	_, err = sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("service account config: listing secrets gave %v, want Forbidden", err)
	}
}

package manifest

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// secret is a Secret as the API returns it, cluster-specific fields included.
func secret(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name": name, "namespace": ns,
			"uid": "u-" + name, "resourceVersion": "42", "creationTimestamp": "2024-01-01T00:00:00Z",
			"labels":          map[string]any{"app": "db"},
			"ownerReferences": []any{map[string]any{"apiVersion": "kubedb.com/v1", "kind": "Postgres", "name": "pg", "uid": "x"}},
		},
		"type": "Opaque",
		"data": map[string]any{"password": "c2VjcmV0"},
	}}
}

// database is a KubeDB object referring to its Secrets and TLS issuer;
// empty names leave the reference out.
func database(kind, ns, name, auth, config, issuer string) *unstructured.Unstructured {
	spec := map[string]any{"version": "16.1", "replicas": int64(1)}
	if auth != "" {
		spec["authSecret"] = map[string]any{"name": auth, "externallyManaged": false}
	}
	if config != "" {
		spec["configSecret"] = map[string]any{"name": config}
	}
	if issuer != "" {
		spec["tls"] = map[string]any{"issuerRef": map[string]any{"apiGroup": "cert-manager.io", "kind": "Issuer", "name": issuer}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubedb.com/v1",
		"kind":       kind,
		"metadata": map[string]any{
			"name": name, "namespace": ns, "uid": "u-" + name, "resourceVersion": "7", "generation": int64(3),
			"finalizers":    []any{"kubedb.com"},
			"managedFields": []any{map[string]any{"manager": "kubectl"}},
			"annotations":   map[string]any{lastAppliedAnnotation: "{}", "keep": "me"},
		},
		"spec":   spec,
		"status": map[string]any{"phase": "Ready"},
	}}
}

// names lists Kind namespace/name of objs.
func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, describe(o))
	}
	return out
}

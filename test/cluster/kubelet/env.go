package kubelet

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
	"k8s.io/utils/ptr"
)

// containerEnv resolves the environment of container c the way the kubelet
// does: service variables for the apiserver, then envFrom, then env in
// order, each value expanded with $(VAR) against what is defined so far.
func (w *podWorker) containerEnv(ctx context.Context, c *corev1.Container) ([]string, error) {
	port := strconv.Itoa(w.k.cfg.APIServerPort)
	host := w.k.cfg.APIServerHost
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	set("PATH", envOr("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
	set("HOSTNAME", w.pod.Name)
	set("HOME", "/root")
	set("KUBERNETES_SERVICE_HOST", host)
	set("KUBERNETES_SERVICE_PORT", port)
	set("KUBERNETES_SERVICE_PORT_HTTPS", port)
	set("KUBERNETES_PORT", "tcp://"+host+":"+port)
	set("KUBERNETES_PORT_443_TCP", "tcp://"+host+":"+port)
	set("KUBERNETES_PORT_443_TCP_PROTO", "tcp")
	set("KUBERNETES_PORT_443_TCP_ADDR", host)
	set("KUBERNETES_PORT_443_TCP_PORT", port)

	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := w.k.client.CoreV1().ConfigMaps(w.pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if ptr.Deref(from.ConfigMapRef.Optional, false) {
					continue
				}
				return nil, errNotReady{fmt.Sprintf("envFrom configmap %s: %v", from.ConfigMapRef.Name, err)}
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := w.k.client.CoreV1().Secrets(w.pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if ptr.Deref(from.SecretRef.Optional, false) {
					continue
				}
				return nil, errNotReady{fmt.Sprintf("envFrom secret %s: %v", from.SecretRef.Name, err)}
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, data[k])
		}
	}

	for _, e := range c.Env {
		val := e.Value
		if e.ValueFrom == nil {
			val = expansion.Expand(val, expansion.MappingFuncFor(vars))
		} else {
			v, skip, err := w.envValueFrom(ctx, e.ValueFrom)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			if skip {
				continue
			}
			val = v
		}
		set(e.Name, val)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

// envValueFrom resolves valueFrom; skip is true for a missing optional key.
func (w *podWorker) envValueFrom(ctx context.Context, from *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := w.fieldRef(from.FieldRef.FieldPath)
		return v, false, err
	case from.ResourceFieldRef != nil:
		return w.resourceFieldRef(from.ResourceFieldRef), false, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := w.k.client.CoreV1().ConfigMaps(w.pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ptr.Deref(ref.Optional, false) {
				return "", true, nil
			}
			return "", false, errNotReady{fmt.Sprintf("configmap %s: %v", ref.Name, err)}
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if ptr.Deref(ref.Optional, false) {
				return "", true, nil
			}
			return "", false, errNotReady{fmt.Sprintf("configmap %s has no key %s", ref.Name, ref.Key)}
		}
		return v, false, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := w.k.client.CoreV1().Secrets(w.pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ptr.Deref(ref.Optional, false) {
				return "", true, nil
			}
			return "", false, errNotReady{fmt.Sprintf("secret %s: %v", ref.Name, err)}
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if ptr.Deref(ref.Optional, false) {
				return "", true, nil
			}
			return "", false, errNotReady{fmt.Sprintf("secret %s has no key %s", ref.Name, ref.Key)}
		}
		return string(v), false, nil
	}
	return "", false, fmt.Errorf("unsupported valueFrom")
}

// expandArgs applies $(VAR) expansion to command and args.
func expandArgs(in []string, env []string) []string {
	vars := map[string]string{}
	for _, kv := range env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				vars[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expansion.Expand(s, expansion.MappingFuncFor(vars))
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

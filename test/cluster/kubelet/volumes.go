package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/utils/ptr"
)

// serviceAccountMountPath is where in-cluster clients look for credentials.
const serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// tokenExpirationSeconds is what the real kubelet asks for: the apiserver
// recognises 3607 s and (with --service-account-extend-token-expiration,
// on by default) issues a token valid for a year, so long-running pods of a
// local cluster need no token refresh.
const tokenExpirationSeconds = 3607

// errNotReady marks a volume whose source does not exist yet (a claim not
// yet bound, a secret not yet created); the pod worker retries.
type errNotReady struct{ msg string }

func (e errNotReady) Error() string { return e.msg }

// prepareVolumes materialises every volume of the pod as a host directory
// and returns the directories by volume name. Secrets, config maps, tokens
// and downward API files are written once, at pod start.
func (w *podWorker) prepareVolumes(ctx context.Context) (map[string]string, error) {
	pod := w.pod
	dirs := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(w.dir, "volumes", v.Name)
		var err error
		switch {
		case v.EmptyDir != nil:
			err = os.MkdirAll(dir, 0o777)
		case v.HostPath != nil:
			dir = v.HostPath.Path
			t := ptr.Deref(v.HostPath.Type, corev1.HostPathUnset)
			if t == corev1.HostPathDirectoryOrCreate {
				err = os.MkdirAll(dir, 0o755)
			} else if t == corev1.HostPathFileOrCreate {
				err = writeIfMissing(dir)
			} else if _, serr := os.Stat(dir); serr != nil {
				err = errNotReady{fmt.Sprintf("hostPath %s: %v", dir, serr)}
			}
		case v.PersistentVolumeClaim != nil:
			dir, err = w.claimDir(ctx, v.PersistentVolumeClaim.ClaimName)
		case v.Secret != nil:
			err = w.writeSecret(ctx, dir, v.Secret.SecretName, v.Secret.Items, ptr.Deref(v.Secret.Optional, false))
		case v.ConfigMap != nil:
			err = w.writeConfigMap(ctx, dir, v.ConfigMap.Name, v.ConfigMap.Items, ptr.Deref(v.ConfigMap.Optional, false))
		case v.DownwardAPI != nil:
			err = w.writeDownwardAPI(dir, v.DownwardAPI.Items)
		case v.Projected != nil:
			err = w.writeProjected(ctx, dir, v.Projected)
		default:
			err = fmt.Errorf("volume %s: unsupported volume type", v.Name)
		}
		if err != nil {
			return nil, err
		}
		dirs[v.Name] = dir
	}
	return dirs, nil
}

// claimDir returns the host directory of the PV bound to the claim.
func (w *podWorker) claimDir(ctx context.Context, claim string) (string, error) {
	pvc, err := w.k.client.CoreV1().PersistentVolumeClaims(w.pod.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", errNotReady{fmt.Sprintf("claim %s: %v", claim, err)}
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", errNotReady{fmt.Sprintf("claim %s is not bound", claim)}
	}
	pv, err := w.k.client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", errNotReady{fmt.Sprintf("volume %s: %v", pvc.Spec.VolumeName, err)}
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, os.MkdirAll(pv.Spec.HostPath.Path, 0o777)
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("volume %s is neither hostPath nor local", pv.Name)
}

func (w *podWorker) writeSecret(ctx context.Context, dir, name string, items []corev1.KeyToPath, optional bool) error {
	s, err := w.k.client.CoreV1().Secrets(w.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return errNotReady{fmt.Sprintf("secret %s: %v", name, err)}
	}
	return writeKeys(dir, s.Data, items)
}

func (w *podWorker) writeConfigMap(ctx context.Context, dir, name string, items []corev1.KeyToPath, optional bool) error {
	cm, err := w.k.client.CoreV1().ConfigMaps(w.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return errNotReady{fmt.Sprintf("configmap %s: %v", name, err)}
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return writeKeys(dir, data, items)
}

// writeKeys writes data into dir: all keys, or only items (key -> path).
func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(items) == 0 {
		for k, v := range data {
			if err := writeFile(filepath.Join(dir, k), v, nil); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %s not found", it.Key)
		}
		if err := writeFile(filepath.Join(dir, it.Path), v, it.Mode); err != nil {
			return err
		}
	}
	return nil
}

func (w *podWorker) writeDownwardAPI(dir string, items []corev1.DownwardAPIVolumeFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, it := range items {
		var val string
		switch {
		case it.FieldRef != nil:
			v, err := w.fieldRef(it.FieldRef.FieldPath)
			if err != nil {
				return err
			}
			val = v
		case it.ResourceFieldRef != nil:
			val = w.resourceFieldRef(it.ResourceFieldRef)
		}
		if err := writeFile(filepath.Join(dir, it.Path), []byte(val), it.Mode); err != nil {
			return err
		}
	}
	return nil
}

func (w *podWorker) writeProjected(ctx context.Context, dir string, p *corev1.ProjectedVolumeSource) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, src := range p.Sources {
		var err error
		switch {
		case src.ServiceAccountToken != nil:
			var tok string
			tok, err = w.token(ctx, src.ServiceAccountToken.Audience, src.ServiceAccountToken.ExpirationSeconds)
			if err == nil {
				err = writeFile(filepath.Join(dir, src.ServiceAccountToken.Path), []byte(tok), nil)
			}
		case src.ConfigMap != nil:
			err = w.writeConfigMap(ctx, dir, src.ConfigMap.Name, src.ConfigMap.Items, ptr.Deref(src.ConfigMap.Optional, false))
		case src.Secret != nil:
			err = w.writeSecret(ctx, dir, src.Secret.Name, src.Secret.Items, ptr.Deref(src.Secret.Optional, false))
		case src.DownwardAPI != nil:
			err = w.writeDownwardAPI(dir, src.DownwardAPI.Items)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// serviceAccountDir writes the default service account credentials
// (token, ca.crt, namespace) for containers that do not mount anything at
// serviceAccountMountPath themselves. The ServiceAccount admission plugin is
// off in this cluster, so pods do not carry the kube-api-access volume; this
// stands in for it.
func (w *podWorker) serviceAccountDir(ctx context.Context) (string, error) {
	dir := filepath.Join(w.dir, "volumes", "kube-api-access")
	tok, err := w.token(ctx, "", nil)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{"token": []byte(tok), "ca.crt": w.k.cfg.CACert, "namespace": []byte(w.pod.Namespace)} {
		if err := writeFile(filepath.Join(dir, name), data, nil); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// token requests a token for the pod's service account, bound to the pod.
func (w *podWorker) token(ctx context.Context, audience string, expiration *int64) (string, error) {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](tokenExpirationSeconds),
	}}
	// A token bound to the pod dies with it, as on a real node. The
	// apiserver only binds to a pod that names the service account, and
	// with the ServiceAccount admission plugin off, spec.serviceAccountName
	// may be empty (meaning "default"): such tokens are left unbound.
	if w.pod.Spec.ServiceAccountName != "" {
		tr.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: w.pod.Name, UID: w.pod.UID}
	} else {
		// The one-year extension applies to pod-bound tokens only.
		tr.Spec.ExpirationSeconds = ptr.To[int64](7 * 24 * 3600)
	}
	if expiration != nil {
		tr.Spec.ExpirationSeconds = expiration
	}
	if audience != "" {
		tr.Spec.Audiences = []string{audience}
	}
	sa := w.serviceAccountName()
	res, err := w.k.client.CoreV1().ServiceAccounts(w.pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		// The serviceaccount controller may not have created "default" yet.
		return "", errNotReady{fmt.Sprintf("token for service account %s: %v", sa, err)}
	}
	return res.Status.Token, nil
}

func (w *podWorker) serviceAccountName() string {
	if w.pod.Spec.ServiceAccountName != "" {
		return w.pod.Spec.ServiceAccountName
	}
	return "default"
}

// fieldRef resolves a downward API field path of the pod.
func (w *podWorker) fieldRef(path string) (string, error) {
	switch path {
	case "spec.nodeName":
		return w.k.cfg.NodeName, nil
	case "spec.serviceAccountName":
		return w.serviceAccountName(), nil
	case "status.podIP", "status.hostIP":
		return "127.0.0.1", nil
	case "status.podIPs", "status.hostIPs":
		return "127.0.0.1", nil
	}
	return fieldpath.ExtractFieldPathAsString(w.pod, path)
}

// resourceFieldRef resolves limits/requests; resources are recorded but
// never enforced.
func (w *podWorker) resourceFieldRef(ref *corev1.ResourceFieldSelector) string {
	for _, c := range append(append([]corev1.Container{}, w.pod.Spec.InitContainers...), w.pod.Spec.Containers...) {
		if ref.ContainerName != "" && c.Name != ref.ContainerName {
			continue
		}
		kind, name, _ := strings.Cut(ref.Resource, ".")
		list := c.Resources.Limits
		if kind == "requests" {
			list = c.Resources.Requests
		}
		if q, ok := list[corev1.ResourceName(name)]; ok {
			if name == "cpu" {
				return fmt.Sprint(q.MilliValue() / 1000)
			}
			return q.String()
		}
		return "0"
	}
	return "0"
}

func writeFile(path string, data []byte, mode *int32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if mode != nil {
		perm = os.FileMode(*mode)
	}
	return os.WriteFile(path, data, perm)
}

func writeIfMissing(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

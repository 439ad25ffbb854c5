# The manifest restore of `make demo-manifests`, sourced by hack/demo.sh
# after its first four steps (binaries, cluster, install, the encryption
# Secret, the BackupStorage and Repository $repo in namespace $ns): it
# uses their variables and functions (step, finish, storage_env, ...).
#
# A namespace demo-app holds a Deployment, a Service, a ConfigMap, a
# Secret and a ServiceAccount with a RoleBinding. `restore-executor
# snapshot --cluster-manifests` dumps them into the `manifest` component
# of a Snapshot (the kubedump-addon's layout); the namespace is deleted;
# a KubeStash-shaped RestoreSession of the kubedump-addon's
# manifest-restore brings it back. The demo prints the tally of
# status.components.manifest.manifests and checks every object exists
# again with the content it was backed up with.

app_ns=demo-app
app_label=app.kubernetes.io/part-of=demo-app
restore_name=demo-app-manifests
# The objects the demo backs up and expects back, as kubectl names them.
app_objects=(
  deployment.apps/web
  service/web
  configmap/web-config
  secret/web-credentials
  serviceaccount/web
  rolebinding.rbac.authorization.k8s.io/web-view
)

step "Create namespace $app_ns: a Deployment, a Service, a ConfigMap, a Secret, a ServiceAccount and its RoleBinding"
# A namespace left from an earlier run (the cluster restarts, but be sure).
kubectl delete namespace "$app_ns" --ignore-not-found --wait=true --timeout=120s
kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
data:
  greeting: hello from the backup
  replicas: "2"
---
apiVersion: v1
kind: Secret
metadata:
  name: web-credentials
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
stringData:
  password: demo-password-$(date +%s)
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-view
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: web
  namespace: $app_ns
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: docker.io/library/nginx:1.27
        envFrom:
        - configMapRef:
            name: web-config
        - secretRef:
            name: web-credentials
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: $app_ns
  labels:
    ${app_label%%=*}: ${app_label#*=}
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
EOF
kubectl -n "$app_ns" rollout status deployment/web --timeout=120s
# What the restore must bring back, to compare with afterwards.
backed_up=$work/manifests-before.txt
# object_digest OBJECT: what must survive the round trip: the data of the
# ConfigMap and Secret, the Deployment's pod template, the Service's ports
# and selector, the RoleBinding's subjects and role.
object_digest() {
  kubectl -n "$app_ns" get "$1" -o jsonpath='{.metadata.labels}{.data}{.spec.template.spec}{.spec.ports}{.spec.selector}{.roleRef}{.subjects}'
}
for o in "${app_objects[@]}"; do
  printf '%s %s\n' "$o" "$(object_digest "$o" | sha256sum | cut -c1-16)"
done >"$backed_up"
kubectl -n "$app_ns" get "${app_objects[@]}"

step "Dump $app_ns's objects into a Snapshot: restore-executor snapshot --cluster-manifests manifest"
snap=$repo-cluster-backup-$(date +%s)
env "${storage_env[@]}" "$bin/restore-executor" snapshot --namespace "$ns" --repository "$repo" --name "$snap" \
  --cluster-manifests manifest --dump-namespaces "$app_ns" --dump-label-selectors "$app_label" \
  --dump-resources deployments.apps,services,configmaps,secrets,serviceaccounts,rolebindings.rbac.authorization.k8s.io \
  "${storage_args[@]}" --scratch-dir "$work/scratch"
kubectl -n "$ns" get snapshot "$snap" \
  -o jsonpath='{"Snapshot "}{.metadata.name}{": phase "}{.status.phase}{", components: "}{.status.components}{"\n"}'

step "Delete namespace $app_ns"
kubectl delete namespace "$app_ns" --wait=true --timeout=120s
if kubectl get namespace "$app_ns" >/dev/null 2>&1; then
  echo "namespace $app_ns still exists" >&2
  exit 1
fi
echo "namespace $app_ns and its objects are gone"

step "Restore with the kubedump-addon's manifest-restore (a KubeStash RestoreSession)"
# As KubeStash's docs do, the restore Job runs as a service account bound
# to a ClusterRole that may read and write what is restored.
kubectl -n "$ns" create serviceaccount cluster-resource-reader-writer --dry-run=client -o yaml | kubectl apply -f -
kubectl create clusterrolebinding demo-cluster-resource-reader-writer --clusterrole=cluster-admin \
  --serviceaccount="$ns:cluster-resource-reader-writer" --dry-run=client -o yaml | kubectl apply -f -
cat >"$work/manifest-restore.yaml" <<EOF
apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata:
  name: $restore_name
  namespace: $ns
spec:
  dataSource:
    repository: $repo
    snapshot: latest
    encryptionSecret:
      name: encrypt-secret
      namespace: $ns
  addon:
    name: kubedump-addon
    tasks:
    - name: manifest-restore
      params:
        IncludeNamespaces: $app_ns
    jobTemplate:
      spec:
        serviceAccountName: cluster-resource-reader-writer
EOF
cat "$work/manifest-restore.yaml"
kubectl delete restoresession -n "$ns" "$restore_name" --ignore-not-found --wait=true
kubectl apply -f "$work/manifest-restore.yaml"
"$bin/demo" watch --namespace "$ns" --name "$restore_name" --timeout 5m

step "The tally in status.components.manifest.manifests, and the objects back in $app_ns"
kubectl -n "$ns" get restoresession "$restore_name"
echo
kubectl -n "$ns" get restoresession "$restore_name" -o go-template='{{with .status.components.manifest.manifests}}status.components.manifest.manifests:
  created:        {{.created}}
  alreadyExisted: {{.alreadyExisted}}
  updated:        {{.updated}}
  skipped:        {{.skipped}}
  failed:         {{.failed}}
{{range .failures}}  failure: {{.}}
{{end}}{{end}}'
echo
kubectl -n "$app_ns" get "${app_objects[@]}"
echo
missing=0
while read -r o want; do
  if ! kubectl -n "$app_ns" get "$o" >/dev/null 2>&1; then
    echo "  $o: MISSING"
    missing=1
    continue
  fi
  got=$(object_digest "$o" | sha256sum | cut -c1-16)
  if [[ $got == "$want" ]]; then
    echo "  $o: restored, same content as backed up"
  else
    echo "  $o: restored with DIFFERENT content (digest $got, backed up $want)"
    missing=1
  fi
done <"$backed_up"
((missing == 0)) || { echo "the restore did not bring every object back as it was" >&2; exit 1; }
kubectl -n "$app_ns" rollout status deployment/web --timeout=120s

finish "manifests restored: namespace $app_ns is back ($storage storage)" "  kubectl -n $ns get restoresession $restore_name -o yaml
  kubectl -n $app_ns get all,configmaps,secrets,serviceaccounts,rolebindings
  sed 's/name: $restore_name\$/name: $restore_name-again/' $work/manifest-restore.yaml | kubectl apply -f -
      # a second restore over the restored namespace: every object 'already existed', none changed"

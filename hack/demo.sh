#!/usr/bin/env bash
# The demo behind `make demo`: restores the reference's sample RestoreSession
# on the local cluster and proves the restored files are the backed-up ones.
#
#   hack/demo.sh                 run the demo (STORAGE=local, the default,
#                                s3, gcs or azure)
#   hack/demo.sh manifests       the manifest restore demo (`make
#                                demo-manifests`): the kubedump-addon's
#                                manifest-restore of a deleted namespace
#   hack/demo.sh stop-emulators  stop the demo's storage emulators (make
#                                cluster-down does; stop-s3 is an alias)
#
# Steps: build the binaries; (re)start the local cluster with the two
# product images mapped to them; the README's install command (CRDs,
# then kubectl apply -k artifacts/); wait for the
# controller; create namespace demo, the encryption Secret, a BackupStorage
# (local: a directory under _output/demo; s3: a versitygw server; gcs:
# fake-gcs-server; azure: Azurite over HTTPS, each started in the
# background with its data under _output/demo) and the Repository
# gcs-demo-repo; write sample data and snapshot it twice with
# `restore-executor snapshot` (the newer snapshot is the one `latest` must
# pick); create the StatefulSet restore-sts; apply
# artifacts/examples/sample-restore.yaml unchanged; follow it until it ends;
# print its status; compare the restored volumes with the data.
#
# The manifests mode shares the first four steps (its Repository is
# demo-manifests-repo), then creates namespace demo-app with a Deployment,
# a Service, a ConfigMap, a Secret and a ServiceAccount with a RoleBinding;
# dumps them into a Snapshot with `restore-executor snapshot
# --cluster-manifests`; deletes the namespace; restores it with a
# KubeStash RestoreSession of the kubedump-addon's manifest-restore; prints
# the tally of status.components.manifest.manifests and checks that every
# object exists again with its backed-up content.
#
# Every step can run again: a rerun restarts the cluster and rewrites the
# demo's data. The cluster stays up for kubectl until `make cluster-down`,
# unless CI=true or DEMO_KEEP=0, which tear it down at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

storage=${STORAGE:-local}
bin=$root/_output/bin
work=$root/_output/demo
state=$root/_output/localcluster
tools=${RESTORE_TOOLS_DIR:-$root/_output/tools}
artifacts=$root/artifacts
controller_image=ghcr.io/restore-controller/restore-controller:v0.1.0
executor_image=ghcr.io/restore-controller/restore-executor:v0.1.0
ns=demo
s3_access=demo-access-key
s3_secret=demo-secret-key
# The bucket (S3, GCS) or container (Azure) of the object-store demos.
bucket=restore-demo
azure_account=devstoreaccount1
# Azurite's well-known development account key (documented by Microsoft,
# not a secret).
azure_key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
# emulators: the background servers this script starts, by the name in
# their pid file and command line.
emulators=(versitygw fake-gcs-server azurite)
export KUBECONFIG=$state/kubeconfig

keep=1
if [[ ${CI:-} == true || ${DEMO_KEEP:-1} == 0 ]]; then
  keep=0
fi

# stop_emulator NAME stops the emulator this script started as NAME (its
# pid file $work/NAME.pid), if it still runs.
stop_emulator() {
  local name=$1 pidfile=$work/$1.pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"; then
    kill "$pid"
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS > deadline)); then
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
    echo "demo storage emulator $name (pid $pid) stopped"
  fi
  rm -f "$pidfile"
}

stop_emulators() {
  local name
  for name in "${emulators[@]}"; do
    stop_emulator "$name"
  done
}

# start_emulator NAME BINARY ARGS...: runs it in the background, in a
# session of its own (so the demo's exit does not stop it), with its log
# in $work/NAME.log.
start_emulator() {
  local name=$1
  shift
  setsid "$@" >"$work/$name.log" 2>&1 </dev/null &
  echo $! >"$work/$name.pid"
}

mode=${1:-run}
case $mode in
run | manifests) ;;
stop-emulators | stop-s3)
  stop_emulators
  exit 0
  ;;
*)
  echo "usage: hack/demo.sh [run|manifests|stop-emulators]" >&2
  exit 2
  ;;
esac
if [[ ! $storage =~ ^(local|s3|gcs|azure)$ ]]; then
  echo "STORAGE=$storage: want local, s3, gcs or azure" >&2
  exit 2
fi

start_ns=$(date +%s%N)
nsteps=10
# The Repository the demo's Snapshots go to.
repo=gcs-demo-repo
if [[ $mode == manifests ]]; then
  nsteps=9
  repo=demo-manifests-repo
fi
step=0
step() {
  step=$((step + 1))
  printf '\n\033[1m==> [%d/%d] %s\033[0m  (at %s)\n' "$step" "$nsteps" "$*" "$(wall)"
}
wall() {
  local ms=$((($(date +%s%N) - start_ns) / 1000000))
  printf '%dm%02d.%01ds' $((ms / 60000)) $((ms / 1000 % 60)) $((ms / 100 % 10))
}

teardown() {
  "$bin/localcluster" down || true
  stop_emulators
}

# On failure: say where to look; in CI show the logs and tear down.
on_exit() {
  local rc=$?
  ((rc == 0)) && return
  local logs=$state/cluster/kubelet/logs
  echo
  echo "demo FAILED in step $step after $(wall) (exit $rc)"
  echo "  controller log: $logs/restore-system/<pod>/controller.log (ls $logs/restore-system)"
  echo "  executor logs:  $logs/$ns/<job pod>/<container>.log"
  echo "  cluster logs:   $state/cluster/logs, $state/localcluster.log"
  if ((keep == 0)); then
    if [[ -d $logs ]]; then
      find "$logs" -name '*.log' -print | while read -r f; do
        echo "--- ${f#"$logs"/} (last 40 lines)"
        tail -n 40 "$f"
      done
    fi
    teardown
  else
    echo "  the cluster is still up: export KUBECONFIG=$KUBECONFIG; make cluster-down when done"
  fi
}
trap on_exit EXIT

step "Build the controller, the executor, the local cluster and the demo helper"
go build -o "$bin/restore-controller" ./cmd/restore-controller
go build -o "$bin/restore-executor" ./cmd/restore-executor
(cd test && go build -o "$bin/localcluster" ./cmd/localcluster && go build -o "$bin/demo" ./cmd/demo)
./hack/build-cluster-binaries.sh
if [[ $storage != local ]]; then
  ./hack/build-tools.sh
fi
echo "binaries in $bin"

step "Start the local cluster, running the two product images as local binaries"
if "$bin/localcluster" status >/dev/null 2>&1; then
  echo "a local cluster is running: restarting it with the demo's image mappings"
  "$bin/localcluster" down
fi
stop_emulators
"$bin/localcluster" up \
  --image-binary "$controller_image=$bin/restore-controller" \
  --image-binary "$executor_image=$bin/restore-executor"

mkdir -p "$work"
step "Install the CRDs, RBAC, controller and addon catalog (README's install command)"
# The README's install command, exactly: the CRDs first, established,
# then everything (test/install runs the same line).
(cd "$root" && kubectl apply -k artifacts/crds && kubectl wait --for=condition=Established --timeout=60s -f artifacts/crds && kubectl apply -k artifacts/)
kubectl -n restore-system rollout status deployment/restore-controller --timeout=120s
kubectl get addons.addons.kubestash.com,functions.addons.kubestash.com

step "Create namespace $ns, the encryption Secret, the $storage BackupStorage and Repository $repo"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
# The repository is new on every run, so a fresh password is fine.
password=$(head -c 18 /dev/urandom | base64)
kubectl -n "$ns" create secret generic encrypt-secret --from-literal=RESTIC_PASSWORD="$password" \
  --dry-run=client -o yaml | kubectl apply -f -
rm -rf "$work/storage" "$work/s3" "$work/gcs" "$work/azurite" "$work/scratch"
# backend is spec.storage of the BackupStorage, runtime its
# spec.runtimeSettings (empty: none), and storage_env what the snapshot
# step, which runs on this host, needs besides the BackupStorage to reach
# the storage. The emulators run on this host, and so do the cluster's
# pods: the executor reaches them at 127.0.0.1 too.
runtime=
storage_env=()
storage_args=()
case $storage in
local)
  mkdir -p "$work/storage"
  storage_args=(--local-storage-dir "$work/storage")
  backend="provider: local
    local:
      mountPath: /kubestash-repo
      hostPath:
        path: $work/storage
        type: Directory"
  ;;
s3)
  mkdir -p "$work/s3"
  port=$("$bin/demo" free-port)
  start_emulator versitygw "$tools/versitygw" --access "$s3_access" --secret "$s3_secret" --port "127.0.0.1:$port" \
    posix "$work/s3"
  echo "versitygw (S3) on 127.0.0.1:$port, data in $work/s3, log $work/versitygw.log"
  "$bin/demo" bucket --endpoint "127.0.0.1:$port" --access "$s3_access" --secret "$s3_secret" --bucket "$bucket"
  kubectl -n "$ns" create secret generic s3-credentials \
    --from-literal=AWS_ACCESS_KEY_ID="$s3_access" --from-literal=AWS_SECRET_ACCESS_KEY="$s3_secret" \
    --dry-run=client -o yaml | kubectl apply -f -
  backend="provider: s3
    s3:
      endpoint: http://127.0.0.1:$port
      bucket: $bucket
      prefix: kubestash
      region: us-east-1
      secretName: s3-credentials"
  ;;
gcs)
  mkdir -p "$work/gcs"
  port=$("$bin/demo" free-port)
  # -public-host: the host the server answers to and writes into object
  # URLs (without it, it expects storage.googleapis.com and reads fail).
  start_emulator fake-gcs-server "$tools/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$port" \
    -public-host "127.0.0.1:$port" -backend filesystem -filesystem-root "$work/gcs" -log-level warn
  echo "fake-gcs-server (GCS) on 127.0.0.1:$port, data in $work/gcs, log $work/fake-gcs-server.log"
  "$bin/demo" gcs-bucket --url "http://127.0.0.1:$port" --bucket "$bucket"
  # Google's client talks to the emulator, without credentials, when
  # STORAGE_EMULATOR_HOST is set; the key must still be well-formed.
  storage_env=("STORAGE_EMULATOR_HOST=http://127.0.0.1:$port")
  kubectl -n "$ns" create secret generic gcs-credentials \
    --from-literal=GOOGLE_PROJECT_ID=restore-demo \
    --from-literal=GOOGLE_SERVICE_ACCOUNT_JSON_KEY="$("$bin/demo" gcs-key)" \
    --dry-run=client -o yaml | kubectl apply -f -
  backend="provider: gcs
    gcs:
      bucket: $bucket
      prefix: /kubestash
      secretName: gcs-credentials"
  ;;
azure)
  mkdir -p "$work/azurite"
  port=$("$bin/demo" free-port)
  cert=$work/azurite/cert.pem
  # kopia speaks only HTTPS to Azure: Azurite serves a certificate made
  # for this run, which the executor trusts through SSL_CERT_FILE.
  "$bin/demo" cert --cert "$cert" --key "$work/azurite/key.pem"
  start_emulator azurite "$tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
    --location "$work/azurite" --skipApiVersionCheck --loose --disableTelemetry \
    --cert "$cert" --key "$work/azurite/key.pem"
  echo "Azurite (Azure Blob) on https://127.0.0.1:$port, data in $work/azurite, log $work/azurite.log"
  "$bin/demo" azure-container --addr "127.0.0.1:$port" --cert "$cert" --container "$bucket"
  storage_env=("SSL_CERT_FILE=$cert")
  kubectl -n "$ns" create secret generic azure-credentials --from-literal=AZURE_ACCOUNT_KEY="$azure_key" \
    --dry-run=client -o yaml | kubectl apply -f -
  # storageDomain (this project's extension; KubeStash YAML never needs
  # it) replaces blob.core.windows.net: kopia dials
  # https://$azure_account.<storageDomain>/, here Azurite's path-style
  # account URL, https://127.0.0.1:$port/$azure_account/ (the
  # "$azure_account.x@" before it is URL userinfo, which the shared-key
  # signature makes the client ignore).
  backend="provider: azure
    azure:
      storageAccount: $azure_account
      container: $bucket
      prefix: /kubestash
      storageDomain: x@127.0.0.1:$port/$azure_account
      secretName: azure-credentials"
  ;;
esac
if ((${#storage_env[@]} > 0)); then
  # The restore Jobs get the same settings from the BackupStorage: its
  # spec.runtimeSettings apply to every Job that reads the storage.
  runtime="runtimeSettings:
    container:
      env:"
  for e in "${storage_env[@]}"; do
    runtime+="
      - name: ${e%%=*}
        value: ${e#*=}"
  done
fi
kubectl apply -f - <<EOF
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata:
  name: demo-storage
  namespace: $ns
spec:
  storage:
    $backend
  $runtime
EOF
# The data demo's Repository belongs to the StatefulSet it restores; the
# manifest demo's holds a dump of the cluster's objects.
app_ref="appRef:
    apiGroup: apps
    kind: StatefulSet
    name: restore-sts
    namespace: $ns"
repo_path=demo/restore-sts
if [[ $mode == manifests ]]; then
  app_ref=
  repo_path=demo/manifests
fi
kubectl apply -f - <<EOF
apiVersion: storage.kubestash.com/v1alpha1
kind: Repository
metadata:
  name: $repo
  namespace: $ns
spec:
  storageRef:
    name: demo-storage
    namespace: $ns
  path: $repo_path
  encryptionSecret:
    name: encrypt-secret
    namespace: $ns
  $app_ref
EOF

# finish WHAT EXPLORE: the demo's last words: WHAT was verified, the wall
# time, then, when the cluster stays up, EXPLORE (commands to try).
finish() {
  echo
  echo "$1"
  if ((keep == 0)); then
    teardown
    echo "demo wall time: $(wall)"
    exit 0
  fi
  echo "demo wall time: $(wall)"
  cat <<EOF

The cluster stays up for exploring:
  export KUBECONFIG=$KUBECONFIG
$2
Stop it with: make cluster-down
EOF
  exit 0
}

if [[ $mode == manifests ]]; then
  # shellcheck source=hack/demo-manifests.sh
  source "$root/hack/demo-manifests.sh"
fi

step "Write sample data and back it up twice with restore-executor snapshot"
"$bin/demo" data "$work/sample"
# snapshot NAME GEN: one Snapshot of components pod-0..pod-2, each backed up
# from /data, where restore-sts mounts its volume.
snapshot() {
  local comps=() r
  for r in 0 1 2; do
    comps+=(--component "pod-$r=$work/sample/gen-$2/pod-$r:/data")
  done
  env "${storage_env[@]}" "$bin/restore-executor" snapshot --namespace "$ns" --repository "$repo" --name "$1" \
    "${comps[@]}" "${storage_args[@]}" --scratch-dir "$work/scratch"
  echo "Snapshot $1: generation $2 of the sample data"
}
snap1=gcs-demo-repo-sample-backup-sts-demo-session-$(date +%s)
snapshot "$snap1" 1
# `latest` is the newest status.snapshotTime, which has whole seconds: the
# second Snapshot must start in a later second than the first.
t1=$(date -d "$(kubectl -n "$ns" get snapshot "$snap1" -o jsonpath='{.status.snapshotTime}')" +%s)
deadline=$((SECONDS + 5))
while (($(date +%s) <= t1)); do
  ((SECONDS <= deadline)) || { echo "clock did not advance past $t1" >&2; exit 1; }
  sleep 0.1
done
snap2=gcs-demo-repo-sample-backup-sts-demo-session-$(date +%s)
snapshot "$snap2" 2
kubectl -n "$ns" get snapshots

step "Create StatefulSet restore-sts (3 replicas, one volume each)"
kubectl apply -f - <<EOF
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: restore-sts
  namespace: $ns
spec:
  replicas: 3
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: restore-sts
  template:
    metadata:
      labels:
        app: restore-sts
    spec:
      containers:
      - name: app
        image: docker.io/library/busybox:1.37
        command: ["sh", "-c", "sleep infinity"]
        volumeMounts:
        - name: data
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
EOF
kubectl -n "$ns" rollout status statefulset/restore-sts --timeout=120s
for r in 0 1 2; do
  kubectl -n "$ns" wait --for=jsonpath='{.status.phase}'=Bound "pvc/data-restore-sts-$r" --timeout=60s
done
# Replica 1 is not restored: give it data of its own that must survive.
pv1=$(kubectl -n "$ns" get pvc data-restore-sts-1 -o jsonpath='{.spec.volumeName}')
dir1=$(kubectl get pv "$pv1" -o jsonpath='{.spec.hostPath.path}')
cp -a "$work/sample/app-state/pod-1/." "$dir1/"
echo "replica 1's volume ($dir1) holds its own data"

step "Apply the reference's sample RestoreSession: artifacts/examples/sample-restore.yaml"
kubectl apply -f "$artifacts/examples/sample-restore.yaml"

step "Follow the restore until it ends"
"$bin/demo" watch --namespace "$ns" --name sample-restore --timeout 5m

step "Final status"
kubectl -n "$ns" wait --for=condition=complete job --all --timeout=60s >/dev/null
kubectl -n "$ns" get restoresession sample-restore
echo
kubectl -n "$ns" get restoresession sample-restore -o yaml | sed -n '/^status:/,$p'
echo
kubectl -n "$ns" get jobs,pods

step "Verify: pod-0 and pod-2 hold the newer backup byte for byte, pod-1 is untouched"
"$bin/demo" verify --namespace "$ns" --statefulset restore-sts --claim data \
  0="$work/sample/gen-2/pod-0" 1="$work/sample/app-state/pod-1" 2="$work/sample/gen-2/pod-2"
finish "restore verified ($storage storage)" "  kubectl -n $ns get restoresession,snapshots,jobs
  kubectl -n $ns describe restoresession sample-restore
  ls $state/cluster/kubelet/logs/$ns        # executor logs, per pod
  curl -s 127.0.0.1:8080/metrics | grep ^restore_controller   # pods share the host's network
  KUBECONFIG=$KUBECONFIG go run ./examples/clientset --name restore-from-go"

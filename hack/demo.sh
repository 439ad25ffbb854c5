#!/usr/bin/env bash
# The demo behind `make demo`: restores the reference's sample RestoreSession
# on the local cluster and proves the restored files are the backed-up ones.
#
#   hack/demo.sh            run the demo (STORAGE=local, the default, or s3)
#   hack/demo.sh stop-s3    stop the demo's S3 server (make cluster-down does)
#
# Steps: build the binaries; (re)start the local cluster with the two
# product images mapped to them; kubectl apply -k artifacts/; wait for the
# controller; create namespace demo, the encryption Secret, a BackupStorage
# (local: a directory under _output/demo; s3: a versitygw server) and the
# Repository gcs-demo-repo; write sample data and snapshot it twice with
# `restore-executor snapshot` (the newer snapshot is the one `latest` must
# pick); create the StatefulSet restore-sts; apply
# artifacts/examples/sample-restore.yaml unchanged; follow it until it ends;
# print its status; compare the restored volumes with the data.
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
s3_bucket=restore-demo
export KUBECONFIG=$state/kubeconfig

keep=1
if [[ ${CI:-} == true || ${DEMO_KEEP:-1} == 0 ]]; then
  keep=0
fi

# stop_s3 stops the versitygw this script started, if it still runs.
stop_s3() {
  local pidfile=$work/versitygw.pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q versitygw; then
    kill "$pid"
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS > deadline)); then
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
    echo "demo S3 server (pid $pid) stopped"
  fi
  rm -f "$pidfile"
}

case ${1:-run} in
run) ;;
stop-s3)
  stop_s3
  exit 0
  ;;
*)
  echo "usage: hack/demo.sh [run|stop-s3]" >&2
  exit 2
  ;;
esac
if [[ $storage != local && $storage != s3 ]]; then
  echo "STORAGE=$storage: want local or s3" >&2
  exit 2
fi

start_ns=$(date +%s%N)
nsteps=10
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
  stop_s3
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
if [[ $storage == s3 ]]; then
  ./hack/build-tools.sh
fi
echo "binaries in $bin"

step "Start the local cluster, running the two product images as local binaries"
if "$bin/localcluster" status >/dev/null 2>&1; then
  echo "a local cluster is running: restarting it with the demo's image mappings"
  "$bin/localcluster" down
fi
stop_s3
"$bin/localcluster" up \
  --image-binary "$controller_image=$bin/restore-controller" \
  --image-binary "$executor_image=$bin/restore-executor"

mkdir -p "$work"
step "Install the CRDs, RBAC, controller and addon catalog: kubectl apply -k artifacts/"
# The Addon and Function in the same kustomization need their CRDs to be
# established; on a fresh cluster the first apply can get there first.
if ! kubectl apply -k "$artifacts" 2>"$work/apply.err"; then
  if ! grep -q 'ensure CRDs are installed first\|no matches for kind' "$work/apply.err"; then
    cat "$work/apply.err" >&2
    exit 1
  fi
  echo "(custom resources were applied before their CRDs were established: waiting and applying again)"
  kubectl wait --for condition=established --timeout=60s crd \
    addons.addons.kubestash.com functions.addons.kubestash.com
  kubectl apply -k "$artifacts"
fi
rm -f "$work/apply.err"
kubectl -n restore-system rollout status deployment/restore-controller --timeout=120s
kubectl get addons.addons.kubestash.com,functions.addons.kubestash.com

step "Create namespace $ns, the encryption Secret, the $storage BackupStorage and Repository gcs-demo-repo"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
# The repository is new on every run, so a fresh password is fine.
password=$(head -c 18 /dev/urandom | base64)
kubectl -n "$ns" create secret generic encrypt-secret --from-literal=RESTIC_PASSWORD="$password" \
  --dry-run=client -o yaml | kubectl apply -f -
rm -rf "$work/storage" "$work/s3" "$work/scratch"
# backend is spec.storage of the BackupStorage.
if [[ $storage == local ]]; then
  mkdir -p "$work/storage"
  storage_args=(--local-storage-dir "$work/storage")
  backend="provider: local
    local:
      mountPath: /kubestash-repo
      hostPath:
        path: $work/storage
        type: Directory"
else
  mkdir -p "$work/s3"
  port=$("$bin/demo" free-port)
  setsid "$tools/versitygw" --access "$s3_access" --secret "$s3_secret" --port "127.0.0.1:$port" \
    posix "$work/s3" >"$work/versitygw.log" 2>&1 </dev/null &
  echo $! >"$work/versitygw.pid"
  echo "versitygw (S3) on 127.0.0.1:$port, data in $work/s3, log $work/versitygw.log"
  "$bin/demo" bucket --endpoint "127.0.0.1:$port" --access "$s3_access" --secret "$s3_secret" --bucket "$s3_bucket"
  storage_args=()
  kubectl -n "$ns" create secret generic s3-credentials \
    --from-literal=AWS_ACCESS_KEY_ID="$s3_access" --from-literal=AWS_SECRET_ACCESS_KEY="$s3_secret" \
    --dry-run=client -o yaml | kubectl apply -f -
  backend="provider: s3
    s3:
      endpoint: http://127.0.0.1:$port
      bucket: $s3_bucket
      prefix: kubestash
      region: us-east-1
      secretName: s3-credentials"
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
EOF
kubectl apply -f - <<EOF
apiVersion: storage.kubestash.com/v1alpha1
kind: Repository
metadata:
  name: gcs-demo-repo
  namespace: $ns
spec:
  storageRef:
    name: demo-storage
    namespace: $ns
  path: demo/restore-sts
  encryptionSecret:
    name: encrypt-secret
    namespace: $ns
  appRef:
    apiGroup: apps
    kind: StatefulSet
    name: restore-sts
    namespace: $ns
EOF

step "Write sample data and back it up twice with restore-executor snapshot"
"$bin/demo" data "$work/sample"
# snapshot NAME GEN: one Snapshot of components pod-0..pod-2, each backed up
# from /data, where restore-sts mounts its volume.
snapshot() {
  local comps=() r
  for r in 0 1 2; do
    comps+=(--component "pod-$r=$work/sample/gen-$2/pod-$r:/data")
  done
  "$bin/restore-executor" snapshot --namespace "$ns" --repository gcs-demo-repo --name "$1" \
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
echo
echo "restore verified ($storage storage)"

if ((keep == 0)); then
  teardown
  echo "demo wall time: $(wall)"
  exit 0
fi
echo "demo wall time: $(wall)"
cat <<EOF

The cluster stays up for exploring:
  export KUBECONFIG=$KUBECONFIG
  kubectl -n $ns get restoresession,snapshots,jobs
  kubectl -n $ns describe restoresession sample-restore
  ls $state/cluster/kubelet/logs/$ns        # executor logs, per pod
  curl -s 127.0.0.1:8080/metrics | grep ^restore_controller   # pods share the host's network
  KUBECONFIG=$KUBECONFIG go run ./examples/clientset --name restore-from-go
Stop it with: make cluster-down
EOF

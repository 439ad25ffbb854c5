#!/usr/bin/env bash
# make bench-controller: the restore controller alone on the local test
# cluster (test/cmd/controllerbench; bench/README.md, "Controller").
#
#   BENCH_CONTROLLER_N          RestoreSessions timed (default 500)
#   BENCH_CONTROLLER_RSS_TOTAL  RestoreSessions in the cluster for the memory
#                               run (default 5000; 0 skips it)
#   BENCH_CONTROLLER_ARGS       extra controller flags, e.g.
#                               "--kube-api-qps=20 --kube-api-burst=30 --workers=2"
#   BENCH_CONTROLLER_DIR        keep the cluster's state and logs here
#                               (default: a temp dir, removed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/_output/bench-bin"
mkdir -p "$bin"
go build -o "$bin/restore-controller" "$root/cmd/restore-controller"
(cd "$root/test" && go build -o "$bin/controllerbench" ./cmd/controllerbench)
exec "$bin/controllerbench" \
  --controller-bin "$bin/restore-controller" \
  --n "${BENCH_CONTROLLER_N:-500}" \
  --rss-total "${BENCH_CONTROLLER_RSS_TOTAL:-5000}" \
  --controller-args "${BENCH_CONTROLLER_ARGS:-}" \
  ${BENCH_CONTROLLER_DIR:+--cluster-dir "$BENCH_CONTROLLER_DIR"}

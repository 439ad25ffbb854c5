#!/usr/bin/env bash
# Builds the local cluster's control plane (etcd, kube-apiserver,
# kube-controller-manager) from the Go modules pinned in test/go.mod.
#
# The output directory holds a stamp: a hash of the Go version, the link
# flags and the exact module versions of every package the three binaries are
# built from (`go list -deps`, under a second). While those are unchanged —
# whatever else changes in test/go.mod — nothing is rebuilt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${CLUSTER_BIN_DIR:-"$root/_output/cluster-bin"}
kube_version=v1.37.2
pkgs=(go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
  -X k8s.io/component-base/version.gitTreeState=clean"

cd "$root/test"
stamp=$({
  go version
  echo "$ldflags"
  go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}' "${pkgs[@]}" | sort -u
} | sha256sum | cut -d' ' -f1)
if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp" ]] &&
   [[ -x "$out/etcd" && -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]]; then
  echo "cluster binaries are up to date in $out"
  exit 0
fi

mkdir -p "$out"
echo "building etcd, kube-apiserver, kube-controller-manager into $out (first build: ~10 min)"
rm -f "$out/.stamp"
CGO_ENABLED=0 go build -trimpath -o "$out/etcd" go.etcd.io/etcd/server/v3
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
echo "$stamp" > "$out/.stamp"
echo "cluster binaries built in $out"

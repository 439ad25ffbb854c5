#!/usr/bin/env bash
# Builds the peer binaries the tests and the benchmark run against — the
# kopia CLI, the versitygw S3 server and the Prometheus Pushgateway — from
# the modules pinned in hack/tools/go.mod (kopia v0.21.1, versitygw v1.8.0,
# pushgateway v1.11.0), the fake-gcs-server GCS emulator (v1.56.1) from its
# own module in hack/tools/fake-gcs-server (its newer Google libraries must
# not move kopia's), and installs the Azurite Azure Blob emulator (3.35.0)
# with npm ci from hack/tools/azurite/package-lock.json, into _output/tools
# (or $RESTORE_TOOLS_DIR). Tests find them through the same variable.
#
# Each binary has its own stamp, .stamp.<name>: a hash of the Go version,
# the build flags and the exact module versions of every package that
# binary is built from (`go list -deps`). A binary whose stamp matches is
# not rebuilt, so a rerun takes seconds, and pinning a new tool does not
# rebuild the others unless it moved one of their dependencies.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${RESTORE_TOOLS_DIR:-"$root/_output/tools"}
# binary name -> package
declare -A pkgs=(
  [kopia]=github.com/kopia/kopia
  [versitygw]=github.com/versity/versitygw/cmd/versitygw
  [pushgateway]=github.com/prometheus/pushgateway
  [fake-gcs-server]=github.com/fsouza/fake-gcs-server
)
names=(kopia versitygw pushgateway fake-gcs-server)
# binary name -> module directory under hack/tools, when not hack/tools
declare -A moddir=(
  [fake-gcs-server]=fake-gcs-server
)
# The Prometheus tools print and export (pushgateway_build_info) the
# version linked into github.com/prometheus/common/version: set it from the
# pinned module so the binary reports what it is.
declare -A versionvar=(
  [pushgateway]=github.com/prometheus/common/version.Version
)

goversion=$(go version)
mkdir -p "$out"
built=0
for n in "${names[@]}"; do
  pkg=${pkgs[$n]}
  cd "$root/hack/tools/${moddir[$n]:-.}"
  ldflags="-s -w"
  if [[ -n "${versionvar[$n]:-}" ]]; then
    version=$(go list -f '{{.Module.Version}}' "$pkg")
    ldflags+=" -X ${versionvar[$n]}=${version#v}"
  fi
  flags=(-trimpath -ldflags "$ldflags")
  stamp=$({
    echo "$goversion"
    echo "${flags[*]}"
    echo "$n $pkg"
    go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}' \
      "$pkg" | sort -u
  } | sha256sum | cut -d' ' -f1)
  if [[ -x "$out/$n" && -f "$out/.stamp.$n" && "$(cat "$out/.stamp.$n")" == "$stamp" ]]; then
    continue
  fi
  rm -f "$out/.stamp.$n"
  echo "building $n ($pkg) into $out"
  CGO_ENABLED=0 go build "${flags[@]}" -o "$out/$n" "$pkg"
  echo "$stamp" > "$out/.stamp.$n"
  built=$((built + 1))
done

# Azurite: npm ci installs exactly the lock file's packages. The stamp is
# the node and npm versions and the lock file.
azsrc="$root/hack/tools/azurite"
stamp=$({ node --version; npm --version; cat "$azsrc/package.json" "$azsrc/package-lock.json"; } | sha256sum | cut -d' ' -f1)
if [[ ! -x "$out/azurite/node_modules/.bin/azurite-blob" || "$(cat "$out/.stamp.azurite" 2>/dev/null)" != "$stamp" ]]; then
  rm -f "$out/.stamp.azurite"
  echo "installing azurite into $out/azurite"
  mkdir -p "$out/azurite"
  cp "$azsrc/package.json" "$azsrc/package-lock.json" "$out/azurite/"
  npm ci --prefix "$out/azurite" --no-audit --no-fund --loglevel=error
  echo "$stamp" > "$out/.stamp.azurite"
  built=$((built + 1))
fi
# The single stamp of earlier versions of this script covered every tool.
rm -f "$out/.stamp"
if ((built == 0)); then
  echo "tools are up to date in $out"
else
  echo "tools built in $out"
fi

#!/usr/bin/env bash
# Builds the peer binaries the executor tests and the benchmark run against —
# the kopia CLI and the versitygw S3 server — from the module pinned in
# hack/tools/go.mod (kopia v0.21.1, versitygw v1.8.0) into _output/tools
# (or $RESTORE_TOOLS_DIR). Tests find them through the same variable.
#
# The output directory holds a stamp: a hash of the Go version, the build
# flags and the exact module versions of every package the two binaries are
# built from (`go list -deps`). While those are unchanged nothing is rebuilt,
# so a rerun takes about a second.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${RESTORE_TOOLS_DIR:-"$root/_output/tools"}
# binary name -> package
declare -A pkgs=(
  [kopia]=github.com/kopia/kopia
  [versitygw]=github.com/versity/versitygw/cmd/versitygw
)
names=(kopia versitygw)
flags=(-trimpath -ldflags "-s -w")

cd "$root/hack/tools"
stamp=$({
  go version
  echo "${flags[*]}"
  for n in "${names[@]}"; do echo "$n ${pkgs[$n]}"; done
  go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}' \
    "${pkgs[@]}" | sort -u
} | sha256sum | cut -d' ' -f1)
uptodate=true
for n in "${names[@]}"; do [[ -x "$out/$n" ]] || uptodate=false; done
if $uptodate && [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp" ]]; then
  echo "tools are up to date in $out"
  exit 0
fi

mkdir -p "$out"
rm -f "$out/.stamp"
for n in "${names[@]}"; do
  echo "building $n (${pkgs[$n]}) into $out"
  CGO_ENABLED=0 go build "${flags[@]}" -o "$out/$n" "${pkgs[$n]}"
done
echo "$stamp" > "$out/.stamp"
echo "tools built in $out"

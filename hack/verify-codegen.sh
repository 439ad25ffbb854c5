#!/usr/bin/env bash
# Fails when generated code or CRDs are stale: regenerates them in a scratch
# copy of the repository and compares with the checked-in files.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Copy the sources (not _output or .git) so the check never touches the tree.
tar -C "$root" --exclude=./_output --exclude=./.git --exclude=./bin -cf - . | tar -C "$scratch" -xf -
# Reuse the built generators.
if [[ -d "$root/_output/codegen-bin" ]]; then
  mkdir -p "$scratch/_output" && cp -a "$root/_output/codegen-bin" "$scratch/_output/"
fi
"$scratch/hack/update-codegen.sh" >/dev/null

status=0
for path in pkg/generated artifacts/crds charts/restore-controller/crds charts/restore-controller/templates/addons; do
  if ! diff -ruN "$root/$path" "$scratch/$path"; then
    status=1
  fi
done
while IFS= read -r f; do
  rel=${f#"$scratch/"}
  if ! diff -u "$root/$rel" "$f"; then
    status=1
  fi
done < <(find "$scratch/pkg/apis" -name 'zz_generated.*.go')
# A generated file deleted upstream but left behind here is stale too.
while IFS= read -r f; do
  rel=${f#"$root/"}
  [[ -f "$scratch/$rel" ]] || { echo "stale generated file: $rel"; status=1; }
done < <(find "$root/pkg/apis" -name 'zz_generated.*.go')

if [[ $status -ne 0 ]]; then
  echo "generated code is out of date: run hack/update-codegen.sh" >&2
  exit 1
fi
echo "generated code and CRDs are up to date"

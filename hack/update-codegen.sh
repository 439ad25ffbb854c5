#!/usr/bin/env bash
# Regenerates everything derived from pkg/apis: deepcopy functions, the CRDs
# under artifacts/crds (copied into the Helm chart's crds/), and under pkg/generated the typed clientset (with
# its field-managed fake), apply configurations, listers and informers.
# Never edit those outputs by hand; run this instead.
#
# The generators are the versions pinned as `tool` dependencies in go.mod.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
module=$(go list -m)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# kube_codegen.sh `go install`s the generators from its own module; keep the
# binaries out of the user's GOPATH.
export GOBIN="$root/_output/codegen-bin"
mkdir -p "$GOBIN"
# `go list -m` names no directory until the module is downloaded.
go mod download k8s.io/code-generator
codegen_dir=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
[[ -f "$codegen_dir/kube_codegen.sh" ]] || { echo "kube_codegen.sh not found in k8s.io/code-generator ($codegen_dir)" >&2; exit 1; }
# shellcheck source=/dev/null
source "$codegen_dir/kube_codegen.sh"

kube::codegen::gen_helpers \
  --boilerplate "$root/hack/boilerplate.go.txt" \
  "$root/pkg/apis"

# CRDs: controller-gen reads the types and their +kubebuilder markers;
# crd-descriptions then drops the descriptions inside embedded Kubernetes
# types, which would otherwise make the RestoreSession CRD 1.7 MB.
rm -rf "$root/artifacts/crds"
go tool controller-gen crd:crdVersions=v1,generateEmbeddedObjectMeta=true,allowDangerousTypes=true \
  paths="./pkg/apis/..." \
  output:crd:artifacts:config="$root/artifacts/crds"
go run ./hack/crd-descriptions "$root/artifacts/crds"
# `kubectl apply -k artifacts/` installs the CRDs through this list. It is
# named Kustomization (no extension) so that `kubectl apply -f artifacts/crds`
# and tools reading every *.yaml here see only CRDs.
{
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
  for f in "$root"/artifacts/crds/*.yaml; do printf -- '- %s\n' "$(basename "$f")"; done
} >"$root/artifacts/crds/Kustomization"
# The Helm chart installs the same CRDs from its crds/ directory (Helm
# applies them before the templates and never templates them): a copy made
# here, never edited, so the two installs cannot drift (verify-codegen.sh).
rm -rf "$root/charts/restore-controller/crds"
mkdir -p "$root/charts/restore-controller/crds"
cp "$root"/artifacts/crds/*.yaml "$root/charts/restore-controller/crds/"
# Its addon catalog is artifacts/addons made into templates the same way:
# behind addons.enabled, with the chart's labels and the executor image
# from values.
rm -rf "$root/charts/restore-controller/templates/addons"
mkdir -p "$root/charts/restore-controller/templates/addons"
for f in addons functions kubedump; do
  {
    echo '{{- if .Values.addons.enabled }}'
    sed -e 's|^\( *\)app.kubernetes.io/part-of: restore-controller$|&\n\1{{- include "restore-controller.chartLabels" . \| nindent 4 }}|' \
      -e 's|image: ghcr.io/restore-controller/restore-executor:v[0-9.]*$|image: {{ include "restore-controller.executorImage" . }}|' \
      "$root/artifacts/addons/$f.yaml"
    echo '{{- end }}'
  } >"$root/charts/restore-controller/templates/addons/$f.yaml"
done

# The apply configurations embed the CRDs' OpenAPI schema, so the fake
# clientset merges server-side applies as the API server does.
go run ./hack/crd-openapi "$root/artifacts/crds" "$scratch/openapi.json"

kube::codegen::gen_client \
  --with-watch \
  --with-applyconfig \
  --applyconfig-openapi-schema "$scratch/openapi.json" \
  --output-dir "$root/pkg/generated" \
  --output-pkg "$module/pkg/generated" \
  --boilerplate "$root/hack/boilerplate.go.txt" \
  "$root/pkg/apis"

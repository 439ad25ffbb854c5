# restore-controller: build, test and code generation.
#
#   make demo      restore the reference's sample RestoreSession on a local
#                  cluster and verify the data (STORAGE=s3, gcs or azure: from
#                  an S3, GCS or Azure Blob emulator instead of a directory)
#   make demo-manifests  the kubedump-addon's manifest restore of a deleted
#                  namespace on the local cluster (STORAGE as for make demo)
#   make test      unit tests, then the tests against a real local cluster,
#                  then the fault-injection suite (make test-faults)
#   make build     compile everything
#   make verify    generated code, CRDs, gofmt and go vet are clean, and
#                  pkg/engine imports no Kubernetes package
#   make codegen   regenerate clients, deepcopy and CRDs from pkg/apis
#   make cluster-up / cluster-down   a local cluster to explore with kubectl
#   make tools     the peers the tests run (_output/tools): kopia CLI, versitygw (S3),
#                  fake-gcs-server (GCS), Azurite (Azure, npm) and Pushgateway
#   make bench     restore benchmark: executor vs kopia CLI vs restic vs cp -a
#   make bench-controller  the controller alone: 500 RestoreSessions to Jobs,
#                  API writes each, peak RSS with 5,000 (bench/README.md)
#   make images    container images of the controller and the executor (needs docker)

SHELL := /usr/bin/env bash -o pipefail
GO ?= go
CLUSTER_BIN_DIR ?= $(CURDIR)/_output/cluster-bin
export CLUSTER_BIN_DIR
RESTORE_TOOLS_DIR ?= $(CURDIR)/_output/tools
export RESTORE_TOOLS_DIR

.PHONY: all build test unit-test cluster-test test-faults verify vet fmt-check engine-imports codegen crds cluster-binaries clean
.PHONY: localcluster cluster-up cluster-down cluster-status tools bench bench-controller demo demo-manifests images
LOCALCLUSTER := _output/bin/localcluster

all: build

## build also writes the kubectl plugin to _output/bin/kubectl-restore:
## with _output/bin on PATH, `kubectl restore describe|watch|logs` runs it.
build:
	$(GO) build ./...
	$(GO) build -o _output/bin/kubectl-restore ./cmd/kubectl-restore
	cd test && $(GO) build ./...

## test: what CI runs and what a newcomer runs.
test: unit-test cluster-test test-faults

unit-test:
	$(GO) test -race -count=1 -timeout 20m ./...
	cd test/packaging && $(GO) test -count=1 -timeout 20m ./...

# The cluster tests run a real etcd, kube-apiserver and
# kube-controller-manager built from source (first build ~10 minutes).
# -v shows each test and the cluster start-up time.
# test/faults runs on its own (test-faults): it kills the controller and
# stops kube-apiserver and measures how soon restores fail, which other
# suites' load on the same two cores would blur.
cluster-test: cluster-binaries tools
	cd test && $(GO) test -count=1 -timeout 30m -v $$($(GO) list ./... | grep -v /test/faults$$)

## test-faults: the fault-injection suite (test/faults, issue 18): the
## controller SIGKILLed, executors killed mid-file, kube-apiserver and the
## S3 server stopped, a corrupted repository, bad credentials, a full
## target, the deadline, delete while running. One line per case, then the
## totals; about 5 minutes.
test-faults: cluster-binaries tools
	cd test && $(GO) test -count=1 -timeout 20m -v ./faults/

localcluster:
	cd test && $(GO) build -o ../$(LOCALCLUSTER) ./cmd/localcluster

## cluster-up: the test cluster, in the background, for a person.
## CLUSTER_IMAGES="image=path ..." runs those images as local binaries.
cluster-up: cluster-binaries localcluster
	$(LOCALCLUSTER) up $(foreach m,$(CLUSTER_IMAGES),--image-binary $(m))
	@echo 'export KUBECONFIG=$(CURDIR)/_output/localcluster/kubeconfig'

cluster-down: localcluster
	$(LOCALCLUSTER) down
	./hack/demo.sh stop-emulators

## demo: builds what it needs, starts the local cluster, installs
## artifacts/, backs up sample data, restores the reference's sample
## RestoreSession and verifies the files (hack/demo.sh). The cluster stays
## up until `make cluster-down` (CI=true or DEMO_KEEP=0: torn down).
## STORAGE=s3, gcs or azure keeps the backups in a local emulator of that
## object store (versitygw, fake-gcs-server, Azurite; `make tools` builds
## them) instead of a directory; `make cluster-down` stops it.
STORAGE ?= local
demo:
	STORAGE=$(STORAGE) ./hack/demo.sh

## demo-manifests: the same first steps as demo (build, cluster, install,
## storage), then a namespace of objects dumped with `restore-executor
## snapshot --cluster-manifests`, deleted, and restored by the
## kubedump-addon's manifest-restore; prints the tally and checks every
## object is back (hack/demo-manifests.sh). Kept apart from demo so that
## demo stays short.
demo-manifests:
	STORAGE=$(STORAGE) ./hack/demo.sh manifests

cluster-status: localcluster
	$(LOCALCLUSTER) status

cluster-binaries:
	./hack/build-cluster-binaries.sh

## tools: kopia CLI v0.21.1, versitygw v1.8.0 and pushgateway v1.11.0 from hack/tools/go.mod,
## fake-gcs-server v1.56.1 from hack/tools/fake-gcs-server/go.mod and Azurite 3.35.0
## (npm ci, node 20) into $(RESTORE_TOOLS_DIR); stamps make reruns instant.
tools:
	./hack/build-tools.sh

## bench: restores the same data with the executor, the kopia CLI, restic
## and cp -a (bench/README.md). BENCH_SCALE=0.01 for a quick run.
BENCH_BIN_DIR := _output/bench-bin
bench: tools
	$(GO) build -o $(BENCH_BIN_DIR)/restorebench ./bench/cmd/restorebench
	$(GO) build -o $(BENCH_BIN_DIR)/bench-executor ./bench/cmd/bench-executor
	BENCH_EXECUTOR_BIN=$(CURDIR)/$(BENCH_BIN_DIR)/bench-executor $(BENCH_BIN_DIR)/restorebench

## bench-controller: N RestoreSessions (BENCH_CONTROLLER_N, 500) with PVC
## targets on the local cluster, in a namespace whose quota admits no pod:
## time until all Jobs exist, API writes per RestoreSession, peak RSS, then
## peak RSS with BENCH_CONTROLLER_RSS_TOTAL (5000) (bench/controller.sh).
bench-controller: cluster-binaries
	./bench/controller.sh

## images: both images from build/Dockerfile (BuildKit), tagged as
## artifacts/ names them; IMAGE_REGISTRY, IMAGE_TAG and VERSION override.
## Without a reachable docker daemon it says so and fails: no image was built.
IMAGE_REGISTRY ?= ghcr.io/restore-controller
IMAGE_TAG ?= v0.1.0
VERSION ?= $(IMAGE_TAG)
images:
	@command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || \
	  { echo "make images: docker is not available here (no docker CLI or daemon); no images built (see build/Dockerfile)" >&2; exit 1; }
	for bin in restore-controller restore-executor; do \
	  DOCKER_BUILDKIT=1 docker build -f build/Dockerfile --target $$bin --build-arg VERSION=$(VERSION) -t $(IMAGE_REGISTRY)/$$bin:$(IMAGE_TAG) . || exit 1; \
	done

codegen crds:
	./hack/update-codegen.sh

verify: fmt-check vet engine-imports
	./hack/verify-codegen.sh

## engine-imports: the restore engine (pkg/engine) depends on no Kubernetes
## package; pkg/executor is the layer that knows the API.
engine-imports:
	$(GO) test -count=1 -run 'KubernetesFree|EngineImportsNoKubernetes' ./pkg/engine

vet:
	$(GO) vet ./...
	cd test && $(GO) vet ./...
	cd test/packaging && $(GO) vet ./...

fmt-check:
	@out=$$(find . -name '*.go' -not -path './pkg/generated/*' -not -path './_output/*' -print0 | xargs -0 gofmt -l); \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf _output bin

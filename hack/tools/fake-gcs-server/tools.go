//go:build tools

// Package tools pins fake-gcs-server, the Google Cloud Storage emulator the
// gcs backend's tests run against. It has a module of its own so that its
// newer Google client libraries do not move the dependencies the kopia CLI
// in ../go.mod is built with. Built by hack/build-tools.sh.
package tools

import _ "github.com/fsouza/fake-gcs-server"

//go:build tools

// Package tools pins the peer binaries the tests and the benchmark run:
// the kopia CLI (snapshots made by kopia itself must restore through the
// executor), versitygw (an S3 server for the s3 backend) and the Prometheus
// Pushgateway (receives the metrics the controller pushes). Built by
// hack/build-tools.sh into _output/tools.
package tools

import (
	_ "github.com/kopia/kopia"
	_ "github.com/prometheus/pushgateway"
	_ "github.com/versity/versitygw/cmd/versitygw"
)

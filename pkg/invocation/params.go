package invocation

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/restore-controller/restore/pkg/engine/pathspec"
)

// Functions of the addon catalog (artifacts/addons) whose args pass task
// parameters to the executor as flags. The controller checks the values
// of their tasks' params (ParamSyntax) before it creates any Job.
const (
	// FunctionKopiaRestore runs the restore subcommand: RestoreParams.
	FunctionKopiaRestore = "kopia-restore"
	// FunctionKubedumpRestore runs restore-manifests --kubedump: the
	// kubedump-addon's params (pkg/manifest.KubedumpParams).
	FunctionKubedumpRestore = "kubedump-restore"
)

// ParamSyntax says which values a task parameter accepts: Accepts in
// words, for messages and docs; Check returns why any other value is not
// accepted. A Check is the very function the executor parses the value
// with, or one that accepts exactly the same values.
type ParamSyntax struct {
	Accepts string
	Check   func(value string) error
}

// Syntaxes of task parameters shared by several of them.
var (
	// BoolParam is what a bool flag of the executor takes
	// (strconv.ParseBool).
	BoolParam = ParamSyntax{Accepts: "true or false", Check: func(v string) error {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	}}
	// AbsolutePathParam is an absolute directory path.
	AbsolutePathParam = ParamSyntax{Accepts: "an absolute directory path", Check: func(v string) error {
		if !path.IsAbs(v) {
			return fmt.Errorf("%q is not an absolute path", v)
		}
		return nil
	}}
)

// RestoreParams says what each task parameter of the executor's restore
// subcommand (the Function kopia-restore) accepts.
var RestoreParams = map[string]ParamSyntax{
	ParamInclude: {
		Accepts: "comma-separated paths inside the snapshot (relative ones may not leave it)",
		Check: eachListElement(func(p string) error {
			_, err := pathspec.CleanInclude(p)
			return err
		}),
	},
	ParamExclude: {
		Accepts: "comma-separated glob patterns (Go path.Match syntax)",
		Check:   eachListElement(pathspec.CheckExclude),
	},
	ParamParallel: {
		Accepts: "a non-negative integer (0: the executor's default)",
		Check: func(v string) error {
			_, err := ParseNonNegativeInt(v)
			return err
		},
	},
	ParamResume:      BoolParam,
	ParamDeleteExtra: BoolParam,
	ParamSparse:      BoolParam,
	ParamDryRun:      BoolParam,
	ParamVerify:      BoolParam,
	ParamBandwidthLimit: {
		Accepts: "bytes per second as a quantity such as 50Mi (0: unlimited)",
		Check: func(v string) error {
			_, err := ParseBandwidthLimit(v)
			return err
		},
	},
}

// ParseBandwidthLimit parses the bandwidthLimit param (and the executor's
// --bandwidth-limit flag): a non-negative whole number of bytes per second
// written as a resource quantity; empty means unlimited (0).
func ParseBandwidthLimit(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a quantity such as 50Mi", v)
	}
	n, ok := q.AsInt64()
	if !ok || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative whole number of bytes per second", v)
	}
	return n, nil
}

// ParseNonNegativeInt parses an integer parameter the way the flag
// package parses an int flag (strconv.ParseInt with base prefixes), and
// rejects a negative one.
func ParseNonNegativeInt(v string) (int, error) {
	n, err := strconv.ParseInt(v, 0, strconv.IntSize)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < 0 {
		return 0, fmt.Errorf("%d is negative", n)
	}
	return int(n), nil
}

// SplitList splits a sep-separated list, as list parameters and flags are
// written: elements are trimmed, empty ones dropped.
func SplitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// eachListElement checks every element of a comma-separated list.
func eachListElement(check func(string) error) func(string) error {
	return func(v string) error {
		for _, e := range SplitList(v, ",") {
			if err := check(e); err != nil {
				return err
			}
		}
		return nil
	}
}

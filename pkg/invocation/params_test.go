package invocation

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

// Every RestoreParams syntax accepts a value exactly when the executor's
// flag parsing does: the bool syntax as a flag.Bool, parallel as
// ParseNonNegativeInt, the lists element by element.
func TestRestoreParams(t *testing.T) {
	for _, tc := range []struct {
		param, value string
		wantErr      string // "" when accepted
	}{
		{param: ParamParallel, value: "16"},
		{param: ParamParallel, value: "0"},
		{param: ParamParallel, value: "0x10"},
		{param: ParamParallel, value: "many", wantErr: `"many" is not an integer`},
		{param: ParamParallel, value: "-1", wantErr: "-1 is negative"},
		{param: ParamParallel, value: "1.5", wantErr: "not an integer"},
		{param: ParamParallel, value: "", wantErr: "not an integer"},
		{param: ParamResume, value: "false"},
		{param: ParamResume, value: "1"},
		{param: ParamResume, value: "yes", wantErr: `"yes" is not true or false`},
		{param: ParamDeleteExtra, value: "", wantErr: "not true or false"},
		{param: ParamSparse, value: "TRUE"},
		{param: ParamInclude, value: ""},
		{param: ParamInclude, value: "app/db, /source/data/x"},
		{param: ParamInclude, value: "app,../etc", wantErr: "must stay inside the snapshot"},
		{param: ParamExclude, value: "*.tmp,cache/"},
		{param: ParamExclude, value: "*.tmp,[x", wantErr: "invalid exclude pattern"},
	} {
		syntax, ok := RestoreParams[tc.param]
		if !ok {
			t.Fatalf("no syntax for %s", tc.param)
		}
		err := syntax.Check(tc.value)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s=%q: %v, want error %q", tc.param, tc.value, err, tc.wantErr)
		}
		if syntax.Accepts == "" {
			t.Errorf("%s: no description of what it accepts", tc.param)
		}
	}
}

// BoolParam accepts what a bool flag does.
func TestBoolParamMatchesBoolFlag(t *testing.T) {
	for _, v := range []string{"true", "false", "1", "0", "t", "F", "TRUE", "yes", "", " true", "on"} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		fs.Bool("b", false, "")
		flagErr := fs.Parse([]string{"--b=" + v})
		if got := BoolParam.Check(v); (got == nil) != (flagErr == nil) {
			t.Errorf("BoolParam.Check(%q) = %v, flag parse: %v", v, got, flagErr)
		}
	}
}

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in, sep string
		want    []string
	}{
		{in: "", sep: ",", want: nil},
		{in: " a, b ,,c ", sep: ",", want: []string{"a", "b", "c"}},
		{in: "/data:/logs", sep: ":", want: []string{"/data", "/logs"}},
	} {
		if got := SplitList(tc.in, tc.sep); !slices.Equal(got, tc.want) {
			t.Errorf("SplitList(%q, %q) = %q, want %q", tc.in, tc.sep, got, tc.want)
		}
	}
}

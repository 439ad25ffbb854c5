package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{name: "linker wins", linked: "v0.1.0", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.9"}}, want: "v0.1.0"},
		{name: "no build info", want: "dev"},
		{name: "go install at a version", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, want: "v0.2.0"},
		{name: "git checkout", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "a736fe5"}}}, want: "dev-a736fe5"},
		{name: "nothing recorded", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.linked, tt.info); got != tt.want {
				t.Errorf("resolve(%q) = %q, want %q", tt.linked, got, tt.want)
			}
		})
	}
}

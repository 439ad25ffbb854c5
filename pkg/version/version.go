// Package version names the release a binary was built from. Release
// builds (build/Dockerfile, `make images`) set it at link time:
//
//	go build -ldflags "-X github.com/restore-controller/restore/pkg/version.Version=v0.1.0" ./cmd/...
package version

import "runtime/debug"

// Version is set by the linker; "" in a plain `go build`.
var Version = ""

// Get returns Version when the linker set it; otherwise the module version
// `go install …@version` records, else the VCS revision a build from a git
// checkout records, else "dev".
func Get() string {
	info, _ := debug.ReadBuildInfo()
	return resolve(Version, info)
}

func resolve(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return "dev-" + s.Value
		}
	}
	return "dev"
}

// Package buildinfo names the build a binary came from, so an operator can
// tell which code answers (GET /v1/health) without a release process: Go
// stamps the module version and the VCS revision into every binary built
// from a git checkout.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Version is the module version (a tag, or a pseudo-version from the
// commit), then the short revision and "+dirty" for uncommitted changes;
// "dev" when the binary carries no build information. The build may set it
// with -ldflags "-X github.com/abtest/abtest/shared/edge/buildinfo.override=v1.2.3".
func Version() string { return version() }

var override string

var version = sync.OnceValue(func() string {
	if override != "" {
		return override
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return describe(info)
})

func describe(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v
}

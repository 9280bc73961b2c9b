package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	cases := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"no information", debug.BuildInfo{}, "dev"},
		{"devel", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"tag", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"pseudo-version and revision", debug.BuildInfo{
			Main:     debug.Module{Version: "v0.0.0-20261130110000-7b1804f0c1d2"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "7b1804f0c1d2e3f4a5b6"}, {Key: "vcs.modified", Value: "false"}},
		}, "v0.0.0-20261130110000-7b1804f0c1d2 (7b1804f0c1d2)"},
		{"uncommitted changes", debug.BuildInfo{
			Main:     debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}},
		}, "dev (abc+dirty)"},
	}
	for _, tc := range cases {
		if got := describe(&tc.info); got != tc.want {
			t.Errorf("%s: describe = %q, want %q", tc.name, got, tc.want)
		}
	}
	if Version() == "" {
		t.Error("Version is empty")
	}
}

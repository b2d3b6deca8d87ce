package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-04T18:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name    string
		stamped Info
		bi      debug.BuildInfo
		want    Info
	}{{
		name:    "a release build keeps what -ldflags stamped",
		stamped: Info{Version: "v1.2.3", Commit: "feedface", Date: "2026-01-02T03:04:05Z"},
		bi:      debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
		want:    Info{Version: "v1.2.3", Commit: "feedface", Date: "2026-01-02T03:04:05Z"},
	}, {
		name: "go install @version reports the module version",
		bi:   debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
		want: Info{Version: "v1.2.3"},
	}, {
		name: "a build from a modified clone reports its commit",
		bi:   debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
		want: Info{Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-04T18:00:00Z", Modified: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.stamped
			fromBuildInfo(&got, &tc.bi)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestGetNamesAVersion(t *testing.T) {
	if info := Get(); info.Version == "" || info.GoVersion == "" || info.Platform == "" {
		t.Errorf("Get() = %+v, want version, Go version and platform set", info)
	}
}

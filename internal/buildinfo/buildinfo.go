// Package buildinfo says which fleetctl this is: the version, commit and
// build date a release build stamps in with -ldflags -X, else what the Go
// toolchain recorded (the module version of `go install …@v1.2.3`, the VCS
// revision of a build from a clone). Every place that reports a version —
// `fleetctl version`, the plugin's version info to gitlab-runner, the
// User-Agent and saved plans — reads it from here, so they agree.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the release build:
//
//	-ldflags "-X github.com/fleetctl/fleetctl/internal/buildinfo.version=v1.2.3
//	          -X github.com/fleetctl/fleetctl/internal/buildinfo.commit=<sha>
//	          -X github.com/fleetctl/fleetctl/internal/buildinfo.date=<RFC 3339>"
var version, commit, date string

// Devel is the version of a build that knows none.
const Devel = "(devel)"

// Info describes this build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	// Modified is set when the commit is known and the tree it was built
	// from had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
}

// Get returns this build's description. Fields nothing recorded are "".
func Get() Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fromBuildInfo(&info, bi)
	}
	if info.Version == "" {
		info.Version = Devel
	}
	return info
}

// fromBuildInfo fills what -ldflags left empty from what Go recorded.
func fromBuildInfo(info *Info, bi *debug.BuildInfo) {
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != Devel {
		info.Version = bi.Main.Version
	}
	var rev, at string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if info.Commit == "" && rev != "" {
		info.Commit, info.Modified = rev, modified
		if info.Date == "" {
			info.Date = at
		}
	}
}

// Version is this build's version: "v1.2.3", a snapshot version, or
// "(devel)".
func Version() string { return Get().Version }

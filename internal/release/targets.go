package release

import "fmt"

// Platform is a GOOS/GOARCH pair a release is built for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Platforms are the release's platforms: the Linux ones the manager and CI
// jobs run (amd64, and arm64 for Hetzner's cax types), and macOS for the
// people who run plan from their laptops.
var Platforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}}

// Programs are the commands released, each in its own archive per platform.
var Programs = []string{"fleetctl", "hcloudsim"}

// ArchiveName is the archive of a program for a platform:
// fleetctl_v1.2.3_linux_amd64.tar.gz.
func ArchiveName(program, version string, p Platform) string {
	return fmt.Sprintf("%s_%s_%s_%s.tar.gz", program, version, p.OS, p.Arch)
}

// PluginBinaryName is the bare Linux fleetctl a release also carries, for
// `--plugin-binary DIR` and for CI jobs that fetch one file:
// fleetctl-linux-arm64. reconcile.ReleaseBinaryName is the same name.
func PluginBinaryName(arch string) string { return "fleetctl-linux-" + arch }

// Artifacts are the file names of a release of version, except
// checksums.txt and the release notes.
func Artifacts(version string) []string {
	var names []string
	for _, prog := range Programs {
		for _, p := range Platforms {
			names = append(names, ArchiveName(prog, version, p))
		}
	}
	for _, p := range Platforms {
		if p.OS == "linux" {
			names = append(names, PluginBinaryName(p.Arch))
		}
	}
	return names
}

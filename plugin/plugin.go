// Package plugin is fleetctl's fleeting plugin: the provider.InstanceGroup
// that gitlab-runner's docker-autoscaler executor drives to create and delete
// the autoscaled Hetzner Cloud servers ("instances") of one runner.
//
// The instances' settings are not duplicated in config.toml: plugin_config
// names the fleet.yaml and the runner, and the runner's
// autoscaler.instances section is read from that file. Every instance
// carries the fleet's ownership labels, so a restarted plugin finds the
// instances it already has by label selector and nothing else is ever
// touched.
package plugin

import (
	"os"

	fleetingplugin "gitlab.com/gitlab-org/fleeting/fleeting/plugin"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
)

// The go-plugin handshake gitlab-runner (through fleeting) performs: it starts
// the plugin executable with no arguments and this variable in the
// environment, and expects the handshake line as the first line on stdout.
const (
	HandshakeKey   = "FLEETING_INSTANCE_GROUP_PLUGIN"
	HandshakeValue = "4c6410b1-cb78-4962-8c76-ab936d0ea908"
)

// Requested reports whether the process was started as a fleeting plugin.
// It must be checked before anything writes to stdout.
func Requested() bool {
	return os.Getenv(HandshakeKey) == HandshakeValue
}

// Serve serves the instance group over go-plugin until the client goes away.
// Only the handshake reaches stdout; logs go to stderr through hclog.
func Serve() {
	fleetingplugin.Serve(&InstanceGroup{})
}

// version is fleetctl's version as gitlab-runner shows it: the release
// version, "dev" for a build that knows none (fleeting's word for it).
func version() string {
	if v := buildinfo.Version(); v != buildinfo.Devel {
		return v
	}
	return "dev"
}

// versionInfo is what Init reports to gitlab-runner, in fleeting's
// format, so that its log shows the same version, commit and build date as
// `fleetctl version`.
func versionInfo() fleetingplugin.VersionInfo {
	info := buildinfo.Get()
	return fleetingplugin.VersionInfo{Name: "fleetctl", Version: version(), Revision: info.Commit, BuiltAt: info.Date}
}

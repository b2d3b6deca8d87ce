package reconcile

import (
	"regexp"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// UpstreamGroup is the instances of a runner that uses the upstream plugin,
// hetznercloud/fleeting-plugin-hetzner. That plugin cannot carry the
// fleet's labels (render reproduces the tutorial's plugin_config, with only
// the user's instances.labels), so its resources are recognised by what it
// does itself: it labels its servers and its SSH key
// managed-by=fleeting-plugin-hetzner (and its servers
// instance-group=<name>), names its servers <name>-<8 hex digits> and its
// SSH key <name>, where <name> is plugin_config's name, our instances.name.
type UpstreamGroup struct {
	// Runner is the runner's name in fleet.yaml.
	Runner string `json:"runner"`
	// Name is the runner's instances.name.
	Name string `json:"name"`
}

// UpstreamSelector selects every server and SSH key the upstream plugin
// created, in any instance group; UpstreamGroup.Owns narrows it down.
const UpstreamSelector = spec.UpstreamManagedByLabel + "=" + spec.UpstreamManagedBy

var upstreamSuffix = regexp.MustCompile(`^-[0-9a-f]{8}$`)

// UpstreamGroups returns the instance groups of the runners that use the
// upstream plugin, in fleet.yaml's order.
func UpstreamGroups(f *spec.Fleet) []UpstreamGroup {
	var out []UpstreamGroup
	for _, r := range f.GitLabRunner.Runners {
		if r.Autoscaler != nil && !r.Autoscaler.UsesFleetctlPlugin() && r.Autoscaler.Instances.Name != "" {
			out = append(out, UpstreamGroup{Runner: r.Name, Name: r.Autoscaler.Instances.Name})
		}
	}
	return out
}

// Owns reports whether the upstream plugin created the server for this
// group: labelled as its own, named <name>-…, and of this instance group —
// by its instance-group label, or, on a server without one, by the rest of
// its name being the plugin's 8 hex digits (so that group "runner" does not
// claim "runner-docker-1a2b3c4d" of group "runner-docker").
func (g UpstreamGroup) Owns(s Server) bool {
	if s.Labels[spec.UpstreamManagedByLabel] != spec.UpstreamManagedBy || !strings.HasPrefix(s.Name, g.Name+"-") {
		return false
	}
	if ig, ok := s.Labels[spec.UpstreamInstanceGroupLabel]; ok {
		return ig == g.Name
	}
	return upstreamSuffix.MatchString(s.Name[len(g.Name):])
}

// ownsSSHKey reports whether the key is the one the upstream plugin uploads
// for this group.
func (g UpstreamGroup) ownsSSHKey(k SSHKey) bool {
	return k.Name == g.Name && k.Labels[spec.UpstreamManagedByLabel] == spec.UpstreamManagedBy
}

// upstreamGroupOf returns the group that owns the server.
func upstreamGroupOf(groups []UpstreamGroup, s Server) (UpstreamGroup, bool) {
	for _, g := range groups {
		if g.Owns(s) {
			return g, true
		}
	}
	return UpstreamGroup{}, false
}

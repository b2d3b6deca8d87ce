package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/fleetctl/fleetctl/spec"
)

// DiffDestroy returns the destroy plan of a fleet: a Delete change for
// every resource in l, which ListDestroyable listed — every SSH key,
// firewall and server carrying the fleet's label (the manager, the
// plugin's autoscaled instances and SSH key among them), and the upstream
// plugin's servers and SSH keys of the given groups. It is pure, like Diff.
//
// Autoscaled instances are planned like every other server, as
// hcloud_server.<name> deletes with a reason naming their runner: destroy
// removes them, and Terraform shows each resource it destroys. Protection
// is lifted (a disable_protection step) only on these servers, which the
// fleet owns.
//
// The plan binds to what it deletes except the autoscaled instances, which
// come and go while the plugin runs: its LiveFingerprint digests the other
// changes, its DesiredFingerprint the fleet's name and the upstream groups
// (all of fleet.yaml that decides what a destroy removes). The live
// fingerprint includes the servers each firewall is applied to directly:
// deleting the firewall detaches it from them, which changes those servers
// too. Applying it lists the servers once more (see kindApply.late), so
// that instances created since the plan go too.
//
// Like Diff, it masks every value of secrets in what the plan shows (nil
// masks nothing); the fingerprints are taken before.
func DiffDestroy(fleet string, groups []UpstreamGroup, l *Live, secrets *Secrets) *Plan {
	p := &Plan{Fleet: fleet, Mode: ModeDestroy, UpstreamGroups: groups}
	for _, k := range l.SSHKeys {
		reason := ""
		if !isManagedRole(k.Labels, RoleSSHKey) {
			reason = "the plugin's SSH key"
		}
		p.Changes = append(p.Changes, destroySSHKeyChange(k, reason))
	}
	for _, k := range l.UpstreamSSHKeys {
		for _, g := range groups {
			if g.ownsSSHKey(k) {
				p.Changes = append(p.Changes, destroySSHKeyChange(k, "the upstream plugin's SSH key of runner "+g.Runner))
				break
			}
		}
	}
	firewallServers := map[Addr][]int64{}
	for _, f := range l.Firewalls {
		firewallServers[NewAddr(KindFirewall, f.Name)] = slices.Compact(slices.Sorted(slices.Values(f.Servers)))
		p.Changes = append(p.Changes, Change{Addr: NewAddr(KindFirewall, f.Name), ID: f.ID, Action: Delete,
			Before: firewallValues(f), Steps: []Step{StepRemoveResources, StepDelete}})
	}
	// Autoscaled instances are left out of the live fingerprint.
	instances := map[Addr]bool{}
	for _, s := range append(append([]Server(nil), l.Servers...), l.UpstreamInstances...) {
		ch, instance := destroyServerChange(s, groups)
		instances[ch.Addr] = instance
		p.Changes = append(p.Changes, ch)
	}
	for i := range p.Changes {
		p.Changes[i].Before = normalizeValues(p.Changes[i].Before)
	}
	p.sort()
	p.LiveFingerprint = destroyLiveFingerprint(p.Changes, instances, firewallServers)
	p.DesiredFingerprint = destroyDesiredFingerprint(fleet, groups)
	secrets.redactPlan(p)
	return p
}

func destroySSHKeyChange(k SSHKey, reason string) Change {
	return Change{Addr: NewAddr(KindSSHKey, k.Name), ID: k.ID, Action: Delete, Reason: reason,
		Before: sshKeyValues(k), Steps: []Step{StepDelete}}
}

// destroyServerChange plans the delete of a server that ListDestroyable
// listed: the manager, or an autoscaled instance (then with a reason
// saying whose it is).
func destroyServerChange(s Server, groups []UpstreamGroup) (ch Change, instance bool) {
	ch = Change{Addr: NewAddr(KindServer, s.Name), ID: s.ID, Action: Delete, Steps: deleteServerSteps(s),
		Before: Values{
			"name": s.Name, "server_type": s.ServerType, "image": s.Image, "location": s.Location,
			"status": s.Status, "ipv4": s.IPv4, "labels": userLabels(s.Labels),
			"protection": s.Protection.Delete || s.Protection.Rebuild,
		}}
	switch {
	case s.Labels[spec.LabelFleet] == "":
		g, _ := upstreamGroupOf(groups, s)
		ch.Reason = "the upstream plugin's autoscaled instance of runner " + g.Runner
	case !isManagedRole(s.Labels, RoleManager):
		ch.Reason = "the plugin's autoscaled instance"
		if r := s.Labels[spec.LabelRunner]; r != "" {
			ch.Reason += " of runner " + r
		}
	default:
		return ch, false
	}
	return ch, true
}

// destroyLiveFingerprint digests a destroy plan's changes but those of the
// autoscaled instances, with the servers each firewall is applied to
// directly.
func destroyLiveFingerprint(changes []Change, instances map[Addr]bool, firewallServers map[Addr][]int64) string {
	type entry struct {
		Addr    Addr
		ID      int64
		Before  Values
		Steps   []Step
		Servers []int64 `json:",omitempty"`
	}
	var v []entry
	for _, ch := range changes {
		if instances[ch.Addr] {
			continue
		}
		v = append(v, entry{ch.Addr, ch.ID, ch.Before, ch.Steps, firewallServers[ch.Addr]})
	}
	return digestJSON(v)
}

func destroyDesiredFingerprint(fleet string, groups []UpstreamGroup) string {
	return digestJSON(struct {
		Mode   Mode
		Fleet  string
		Groups []UpstreamGroup
	}{ModeDestroy, fleet, groups})
}

func digestJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

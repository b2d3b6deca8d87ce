package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// internalServerLabels are shown as attributes of their own (user_data,
// ssh_keys) or not at all (the host key fingerprint), not as labels.
var internalServerLabels = []string{LabelSSHHostKey, LabelUserData, LabelSSHKeys, LabelReplaces}

func userLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !slices.Contains(internalServerLabels, k) {
			out[k] = v
		}
	}
	return out
}

// diffManager plans the manager server. It reports whether the manager is
// (re)created, so that its files are created too.
//
// A replace is a DeleteThenCreate, or, with manager.create_before_destroy,
// a CreateThenDelete: create the new manager under its temporary name,
// write its files (the old manager serves meanwhile), delete the deposed
// one, rename the new one. A replacement an interrupted apply left under
// its temporary name is finished, never pruned or made again.
func diffManager(p *Plan, d *Desired, l *Live, adopt bool) (fresh bool) {
	m := d.Manager
	lm, others := liveManagers(d, l)
	if next, deposed := replacementInProgress(d, l); next != nil {
		pruneManagers(p, m, others)
		finishReplace(p, m, next, deposed)
		return false
	}
	renaming := lm != nil && lm.Name != m.Name
	addr := NewAddr(KindServer, m.Name)
	after := Values{
		"name": m.Name, "server_type": m.ServerType, "image": m.Image, "location": m.Location,
		"ssh_keys": m.SSHKeys, "user_data": m.Labels[LabelUserData], "labels": userLabels(m.Labels),
		"protection": m.Protection, "status": "running",
	}
	var adopting bool
	if lm == nil {
		if u, found := l.UnlabelledServers[m.Name]; found {
			if !adopt {
				p.Errors = append(p.Errors, unownedError(addr, "a server", m.Name, d.Fleet))
				return false
			}
			lm, adopting = &u, true
		}
	}
	pruneManagers(p, m, others)
	if lm == nil {
		after["ipv4"], after["ssh_host_key"] = knownAfterApply, knownAfterApply
		p.Changes = append(p.Changes, Change{Addr: addr, Action: Create, After: after, Steps: createServerSteps(m)})
		return true
	}
	after["ipv4"], after["ssh_host_key"] = lm.IPv4, lm.Labels[LabelSSHHostKey]
	ch := Change{Addr: addr, ID: lm.ID, Before: serverValues(*lm, m), After: after}
	if forces, reasons := replaceReasons(*lm, m, adopting); len(forces) > 0 {
		after["ipv4"], after["ssh_host_key"] = knownAfterApply, knownAfterApply
		ch.Action = DeleteThenCreate
		ch.ForcesReplacement = forces
		ch.Reason = strings.Join(reasons, "; ")
		ch.Deposed = &DeposedObject{ID: lm.ID, Name: lm.Name}
		ch.Steps = append(deleteServerSteps(*lm), createServerSteps(m)...)
		if m.CreateBeforeDestroy && !adopting {
			temp := spec.TemporaryName(m.Name)
			if _, taken := l.UnlabelledServers[temp]; taken || hasServerNamed(others, temp) {
				p.Errors = append(p.Errors, fmt.Sprintf("%s: create_before_destroy creates the replacement as %q, "+
					"but a server of that name exists: delete it or rename it, then plan again", addr, temp))
				return false
			}
			ch.Action, ch.TemporaryName = CreateThenDelete, temp
			ch.Steps = append(append(createServerSteps(m), deleteServerSteps(*lm)...), StepUpdate)
		}
		p.Changes = append(p.Changes, ch)
		return true
	}
	var steps []Step
	switch {
	case adopting:
		steps = append(steps, StepAdopt)
		ch.Reason = "adopt: add the fleet's labels"
	case renaming || !maps.Equal(userLabels(lm.Labels), userLabels(m.Labels)):
		steps = append(steps, StepUpdate)
		if lostRole(lm.Labels) {
			ch.Reason = restoreLabelsReason
		}
	}
	if lm.Protection != (Protection{Delete: m.Protection, Rebuild: m.Protection}) {
		steps = append(steps, StepChangeProtection)
	}
	if lm.ServerType != m.ServerType {
		steps = append(steps, StepChangeType)
	} else if lm.Status == "off" {
		steps = append(steps, StepPoweron)
	}
	if len(steps) > 0 {
		ch.Action, ch.Steps = Update, steps
	}
	p.Changes = append(p.Changes, ch)
	return false
}

// replaceReasons returns the attributes that force the live server's
// replacement, and why.
func replaceReasons(lm Server, m DesiredServer, adopting bool) (forces, reasons []string) {
	// Hetzner returns no image for a server whose image was deleted since:
	// that is no change of fleet.yaml's.
	if lm.Image != "" && lm.Image != m.Image {
		forces, reasons = append(forces, "image"), append(reasons, "image changed: Hetzner rebuilds a server's disk only by replacing it")
	}
	if lm.Location != m.Location {
		forces, reasons = append(forces, "location"), append(reasons, "location changed: a server cannot move between locations")
	}
	if !adopting && lm.Labels[LabelSSHKeys] != m.Labels[LabelSSHKeys] {
		forces, reasons = append(forces, "ssh_keys"), append(reasons, "ssh_keys changed: Hetzner installs SSH keys only when a server is created")
	}
	if !adopting && lm.Labels[LabelUserData] != m.Labels[LabelUserData] {
		forces, reasons = append(forces, "user_data"), append(reasons, "user_data changed: cloud-init runs it only when a server is created")
	}
	return forces, reasons
}

// pruneManagers plans the deletion of labelled managers that are neither
// the manager nor part of its replacement.
func pruneManagers(p *Plan, m DesiredServer, others []Server) {
	for _, s := range others {
		p.Changes = append(p.Changes, Change{Addr: NewAddr(KindServer, s.Name), ID: s.ID, Action: Delete,
			Before: serverValues(s, m), Reason: "no longer in fleet.yaml (the manager is " + m.Name + ")",
			Steps: deleteServerSteps(s)})
	}
}

func hasServerNamed(servers []Server, name string) bool {
	for _, s := range servers {
		if s.Name == name {
			return true
		}
	}
	return false
}

// finishReplace plans what is left of a create-before-destroy an apply was
// interrupted in: the new manager exists under its temporary name (its
// files are compared like any manager's, see liveManagers), the deposed
// one still holds the final name. Left are the new manager's own steps,
// the deposed one's deletion and the rename. A replacement that no longer
// matches fleet.yaml is not guessed about: the plan has an error.
func finishReplace(p *Plan, m DesiredServer, next, deposed *Server) {
	addr := NewAddr(KindServer, m.Name)
	if forces, reasons := replaceReasons(*next, m, false); len(forces) > 0 {
		p.Errors = append(p.Errors, fmt.Sprintf("%s: the replacement %s [id=%d] an interrupted apply created no longer matches fleet.yaml (%s): "+
			"restore fleet.yaml and apply to finish the replace, or delete %s (lift its protection first) and plan again",
			addr, next.Name, next.ID, strings.Join(reasons, "; "), next.Name))
		return
	}
	after := Values{
		"name": m.Name, "server_type": m.ServerType, "image": m.Image, "location": m.Location,
		"ssh_keys": m.SSHKeys, "user_data": m.Labels[LabelUserData], "labels": userLabels(m.Labels),
		"protection": m.Protection, "status": "running",
		"ipv4": next.IPv4, "ssh_host_key": next.Labels[LabelSSHHostKey],
	}
	var steps []Step
	if next.Protection != (Protection{Delete: m.Protection, Rebuild: m.Protection}) {
		steps = append(steps, StepChangeProtection)
	}
	if next.ServerType != m.ServerType {
		steps = append(steps, StepChangeType)
	} else if next.Status == "off" {
		steps = append(steps, StepPoweron)
	}
	steps = append(append(steps, deleteServerSteps(*deposed)...), StepUpdate)
	p.Changes = append(p.Changes, Change{
		Addr: addr, Action: CreateThenDelete, ID: next.ID, Before: serverValues(*next, m), After: after,
		Deposed: &DeposedObject{ID: deposed.ID, Name: deposed.Name}, TemporaryName: next.Name, Steps: steps,
		Reason: fmt.Sprintf("an earlier apply created the replacement %s [id=%d] and stopped before destroying %s [id=%d]: "+
			"destroy it, then rename the replacement", next.Name, next.ID, deposed.Name, deposed.ID),
	})
}

// knownAfterApply stands for a value that exists only once Apply ran.
const knownAfterApply = "(known after apply)"

func createServerSteps(m DesiredServer) []Step {
	steps := []Step{StepCreate}
	if m.Protection {
		steps = append(steps, StepChangeProtection)
	}
	return steps
}

func deleteServerSteps(s Server) []Step {
	if s.Protection.Delete || s.Protection.Rebuild {
		return []Step{StepDisableProtection, StepDelete}
	}
	return []Step{StepDelete}
}

// serverValues shows a live server in the desired server's terms. Hetzner
// returns neither SSH keys nor user_data: they are known only through the
// digests fleetctl records as labels.
func serverValues(s Server, m DesiredServer) Values {
	v := Values{
		"name": s.Name, "server_type": s.ServerType, "image": s.Image, "location": s.Location,
		"user_data": s.Labels[LabelUserData], "labels": userLabels(s.Labels),
		"protection": s.Protection.Delete && s.Protection.Rebuild, "status": s.Status,
		"ipv4": s.IPv4, "ssh_host_key": s.Labels[LabelSSHHostKey],
	}
	switch d := s.Labels[LabelSSHKeys]; {
	case d == "":
		v["ssh_keys"] = "(unknown)"
	case d == m.Labels[LabelSSHKeys]:
		v["ssh_keys"] = m.SSHKeys
	default:
		v["ssh_keys"] = "(other keys, digest " + d + ")"
	}
	if v["user_data"] == "" {
		v["user_data"] = "(unknown)"
	}
	return v
}

// liveManagers finds the labelled manager of the desired one: a
// replacement in progress (see replacementInProgress), else the server with
// its name, else — when no unlabelled server has its name — the only
// labelled manager, which is then renamed in place. Other labelled managers
// are returned to be pruned; the deposed one of a replacement in progress is
// neither.
func liveManagers(d *Desired, l *Live) (*Server, []Server) {
	if next, deposed := replacementInProgress(d, l); next != nil {
		var others []Server
		for _, s := range l.Servers {
			if s.Labels[spec.LabelRole] == RoleManager && s.ID != next.ID && s.ID != deposed.ID {
				others = append(others, s)
			}
		}
		return next, others
	}
	var named *Server
	var others []Server
	for i, s := range l.Servers {
		if s.Labels[spec.LabelRole] != RoleManager {
			continue
		}
		if s.Name == d.Manager.Name && named == nil {
			named = &l.Servers[i]
			continue
		}
		others = append(others, s)
	}
	if named == nil {
		// The fleet's server of the manager's name whose role label was
		// removed by hand is the manager, not a plugin instance.
		for i, s := range l.Servers {
			if s.Name == d.Manager.Name && lostRole(s.Labels) {
				named = &l.Servers[i]
				break
			}
		}
	}
	if named != nil {
		return named, others
	}
	if _, taken := l.UnlabelledServers[d.Manager.Name]; !taken && len(others) == 1 {
		return &others[0], nil
	}
	return nil, others
}

// replacementInProgress finds what a create-before-destroy an apply was
// interrupted in left behind: a labelled manager under the temporary name
// whose LabelReplaces holds the ID of another labelled manager, the
// deposed one, which still exists. Both are nil otherwise (once the
// deposed manager is gone, the replacement is the only labelled manager
// and is renamed in place as such).
func replacementInProgress(d *Desired, l *Live) (next, deposed *Server) {
	temp := spec.TemporaryName(d.Manager.Name)
	for i, s := range l.Servers {
		if s.Labels[spec.LabelRole] == RoleManager && s.Name == temp && s.Labels[LabelReplaces] != "" {
			next = &l.Servers[i]
		}
	}
	if next == nil {
		return nil, nil
	}
	for i, s := range l.Servers {
		if s.Labels[spec.LabelRole] == RoleManager && s.ID != next.ID && strconv.FormatInt(s.ID, 10) == next.Labels[LabelReplaces] {
			return next, &l.Servers[i]
		}
	}
	return nil, nil
}

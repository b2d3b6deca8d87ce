package reconcile

import (
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/spec"
)

// Diff compares the desired state with the live state and returns the plan
// that converges them. It is pure: same inputs, same plan.
//
// Rules: a desired resource missing from the labelled lists is created,
// unless an unlabelled resource has its name — then the plan has an error
// that suggests --adopt, or (with adopt) a change that adds the labels.
// Labelled resources of managed roles that left fleet.yaml are deleted.
// Labelled resources of other roles belong to the plugin and are listed
// as instances (servers) or left alone; so are the upstream plugin's
// servers of the fleet's runners.
func Diff(d *Desired, l *Live, adopt bool) *Plan {
	p := &Plan{Fleet: d.Fleet, LiveFingerprint: l.Fingerprint(), DesiredFingerprint: d.Fingerprint()}
	p.NotCompared = append(p.NotCompared, d.Notes...)
	diffSSHKeys(p, d, l, adopt)
	diffFirewalls(p, d, l, adopt)
	managerFresh := diffManager(p, d, l, adopt)
	diffFiles(p, d, l, managerFresh)
	lm, _ := liveManagers(d, l)
	for _, s := range l.Servers {
		if s.Labels[spec.LabelRole] == RoleManager || (lm != nil && s.ID == lm.ID) {
			continue
		}
		p.Instances = append(p.Instances, Instance{
			Name: s.Name, ID: s.ID, Status: s.Status, ServerType: s.ServerType, Runner: s.Labels[spec.LabelRunner],
		})
	}
	for _, s := range l.UpstreamInstances {
		g, _ := upstreamGroupOf(d.UpstreamGroups, s)
		p.Instances = append(p.Instances, Instance{Name: s.Name, ID: s.ID, Status: s.Status, ServerType: s.ServerType, Runner: g.Runner})
	}
	for i := range p.Changes {
		p.Changes[i].Before = normalizeValues(p.Changes[i].Before)
		p.Changes[i].After = normalizeValues(p.Changes[i].After)
	}
	d.Secrets.redactPlan(p)
	p.sort()
	return p
}

func unownedError(addr Addr, what, name, fleet string) string {
	return fmt.Sprintf("%s: %s %q exists without the label %s=%s; fleetctl never changes resources it does not own. "+
		"Run apply with --adopt to add the labels and manage it, or rename one of them", addr, what, name, spec.LabelFleet, fleet)
}

func diffSSHKeys(p *Plan, d *Desired, l *Live, adopt bool) {
	live := map[string]SSHKey{}
	// roleless are the fleet's keys whose role label was removed: each is
	// the desired key of its name or public key, never pruned.
	roleless := map[string]SSHKey{}
	for _, k := range l.SSHKeys {
		switch {
		case isManagedRole(k.Labels, RoleSSHKey):
			live[k.Name] = k
		case lostRole(k.Labels):
			roleless[k.Name] = k
		}
	}
	desired := map[string]bool{}
	for _, dk := range d.SSHKeys {
		desired[dk.Name] = true
	}
	for _, dk := range d.SSHKeys {
		addr := NewAddr(KindSSHKey, dk.Name)
		after := Values{"name": dk.Name, "public_key": dk.PublicKey, "labels": dk.Labels}
		lk, ok := live[dk.Name]
		delete(live, dk.Name)
		if !ok {
			if k, found := roleless[dk.Name]; found {
				lk, ok = k, true
				delete(roleless, dk.Name)
			}
		}
		if !ok {
			// Hetzner refuses a second key with the same public key, so a
			// fleet key renamed outside fleetctl is renamed back, in place.
			renamed, found := renamedSSHKey(live, desired, dk)
			if !found {
				renamed, found = renamedSSHKey(roleless, desired, dk)
			}
			if found {
				delete(live, renamed.Name)
				delete(roleless, renamed.Name)
				reason := fmt.Sprintf("the fleet's key is named %q: renamed back in place", renamed.Name)
				if lostRole(renamed.Labels) {
					reason += "; " + restoreLabelsReason
				}
				ch := Change{Addr: addr, ID: renamed.ID, Before: sshKeyValues(renamed), After: after, Action: Update,
					Reason: reason, Steps: []Step{StepUpdate}}
				p.Changes = append(p.Changes, ch)
				continue
			}
			if u, found := l.UnlabelledSSHKeys[dk.Name]; found {
				if !adopt {
					p.Errors = append(p.Errors, unownedError(addr, "an SSH key", dk.Name, d.Fleet))
					continue
				}
				ch := Change{Addr: addr, ID: u.ID, Before: sshKeyValues(u), After: after, Reason: "adopt: add the fleet's labels"}
				if !samePublicKey(u.PublicKey, dk.PublicKey) {
					p.Errors = append(p.Errors, fmt.Sprintf("%s: cannot adopt: its public key differs from fleet.yaml's", addr))
					continue
				}
				ch.Action, ch.Steps = Update, []Step{StepAdopt}
				p.Changes = append(p.Changes, ch)
				continue
			}
			p.Changes = append(p.Changes, Change{Addr: addr, Action: Create, After: after, Steps: []Step{StepCreate}})
			continue
		}
		ch := Change{Addr: addr, ID: lk.ID, Before: sshKeyValues(lk), After: after}
		switch {
		case !samePublicKey(lk.PublicKey, dk.PublicKey):
			ch.Action = DeleteThenCreate
			ch.ForcesReplacement = []string{"public_key"}
			ch.Reason = "public_key changed: Hetzner cannot change an SSH key's public key"
			ch.Steps = []Step{StepDelete, StepCreate}
		case !maps.Equal(lk.Labels, dk.Labels):
			ch.Action, ch.Steps = Update, []Step{StepUpdate}
			if lostRole(lk.Labels) {
				ch.Reason = restoreLabelsReason
			}
		}
		p.Changes = append(p.Changes, ch)
	}
	for _, name := range sortedKeys(live) {
		lk := live[name]
		p.Changes = append(p.Changes, Change{Addr: NewAddr(KindSSHKey, name), ID: lk.ID, Action: Delete,
			Before: sshKeyValues(lk), Reason: "no longer in fleet.yaml", Steps: []Step{StepDelete}})
	}
}

// renamedSSHKey finds the fleet's key with dk's public key under a name
// fleet.yaml does not declare.
func renamedSSHKey(live map[string]SSHKey, desired map[string]bool, dk DesiredSSHKey) (SSHKey, bool) {
	for _, name := range sortedKeys(live) {
		if k := live[name]; !desired[name] && samePublicKey(k.PublicKey, dk.PublicKey) {
			return k, true
		}
	}
	return SSHKey{}, false
}

func sshKeyValues(k SSHKey) Values {
	return Values{"name": k.Name, "public_key": strings.TrimSpace(k.PublicKey), "labels": nonNil(k.Labels)}
}

// samePublicKey compares two authorized_keys lines by type and key, ignoring
// the comment (Hetzner keeps it, but a key is the same key without it).
func samePublicKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) < 2 || len(fb) < 2 {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return fa[0] == fb[0] && fa[1] == fb[1]
}

func diffFirewalls(p *Plan, d *Desired, l *Live, adopt bool) {
	live := map[string]Firewall{}
	roleless := map[string]Firewall{} // as in diffSSHKeys
	for _, f := range l.Firewalls {
		switch {
		case isManagedRole(f.Labels, RoleFirewall):
			live[f.Name] = f
		case lostRole(f.Labels):
			roleless[f.Name] = f
		}
	}
	for _, df := range d.Firewalls {
		addr := NewAddr(KindFirewall, df.Name)
		after := Values{"name": df.Name, "labels": df.Labels, "rules": ruleStrings(df.Rules), "apply_to": sortedCopy(df.ApplyTo)}
		lf, ok := live[df.Name]
		delete(live, df.Name)
		if f, found := roleless[df.Name]; !ok && found {
			lf, ok = f, true
		}
		var steps []Step
		if !ok {
			u, found := l.UnlabelledFirewalls[df.Name]
			if !found {
				p.Changes = append(p.Changes, Change{Addr: addr, Action: Create, After: after, Steps: []Step{StepCreate}})
				continue
			}
			if !adopt {
				p.Errors = append(p.Errors, unownedError(addr, "a firewall", df.Name, d.Fleet))
				continue
			}
			lf, steps = u, []Step{StepAdopt}
		}
		ch := Change{Addr: addr, ID: lf.ID, Before: firewallValues(lf), After: after}
		if !ok {
			ch.Reason = "adopt: add the fleet's labels"
		} else if !maps.Equal(lf.Labels, df.Labels) {
			steps = append(steps, StepUpdate)
			if lostRole(lf.Labels) {
				ch.Reason = restoreLabelsReason
			}
		}
		if !slices.Equal(ruleStrings(lf.Rules), ruleStrings(df.Rules)) {
			steps = append(steps, StepSetRules)
		}
		add, remove := setDiff(lf.ApplyTo, df.ApplyTo)
		if len(add) > 0 {
			steps = append(steps, StepApplyToResources)
		}
		if len(remove) > 0 {
			steps = append(steps, StepRemoveResources)
		}
		if len(steps) > 0 {
			ch.Action, ch.Steps = Update, steps
		}
		p.Changes = append(p.Changes, ch)
	}
	for _, name := range sortedKeys(live) {
		lf := live[name]
		p.Changes = append(p.Changes, Change{Addr: NewAddr(KindFirewall, name), ID: lf.ID, Action: Delete,
			Before: firewallValues(lf), Reason: "no longer in fleet.yaml", Steps: []Step{StepRemoveResources, StepDelete}})
	}
}

func firewallValues(f Firewall) Values {
	return Values{"name": f.Name, "labels": nonNil(f.Labels), "rules": ruleStrings(f.Rules), "apply_to": sortedCopy(f.ApplyTo)}
}

// ruleStrings is the rule set in canonical, sorted form: rules compare as a
// set, whatever order Hetzner or fleet.yaml lists them in.
func ruleStrings(rs []FirewallRule) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.String())
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// setDiff returns what want has and have lacks, and the reverse.
func setDiff(have, want []string) (add, remove []string) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			remove = append(remove, h)
		}
	}
	sort.Strings(add)
	sort.Strings(remove)
	return add, remove
}

// internalServerLabels are shown as attributes of their own (user_data,
// ssh_keys) or not at all (the host key fingerprint), not as labels.
var internalServerLabels = []string{LabelSSHHostKey, LabelUserData, LabelSSHKeys}

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
func diffManager(p *Plan, d *Desired, l *Live, adopt bool) (fresh bool) {
	m := d.Manager
	lm, others := liveManagers(d, l)
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
	for _, s := range others {
		p.Changes = append(p.Changes, Change{Addr: NewAddr(KindServer, s.Name), ID: s.ID, Action: Delete,
			Before: serverValues(s, m), Reason: "no longer in fleet.yaml (the manager is " + m.Name + ")",
			Steps: deleteServerSteps(s)})
	}
	if lm == nil {
		after["ipv4"], after["ssh_host_key"] = knownAfterApply, knownAfterApply
		p.Changes = append(p.Changes, Change{Addr: addr, Action: Create, After: after, Steps: createServerSteps(m)})
		return true
	}
	after["ipv4"], after["ssh_host_key"] = lm.IPv4, lm.Labels[LabelSSHHostKey]
	ch := Change{Addr: addr, ID: lm.ID, Before: serverValues(*lm, m), After: after}
	var forces, reasons []string
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
	if len(forces) > 0 {
		after["ipv4"], after["ssh_host_key"] = knownAfterApply, knownAfterApply
		ch.Action = DeleteThenCreate
		ch.ForcesReplacement = forces
		ch.Reason = strings.Join(reasons, "; ")
		ch.Steps = append(deleteServerSteps(*lm), createServerSteps(m)...)
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

// diffFiles plans the manager's files. A fresh manager gets every file;
// an existing one gets what differs from what was read over SFTP.
func diffFiles(p *Plan, d *Desired, l *Live, managerFresh bool) {
	for _, f := range d.Files {
		if f.NotManagedReason != "" {
			p.NotCompared = append(p.NotCompared, Note{Subject: string(f.Addr), Message: f.NotManagedReason, Blocking: true})
			continue
		}
		if f.Format == FormatDirectory {
			if !managerFresh && l.FilesPending == "" {
				if ch, ok := diffDirectory(f, l); ok {
					p.Changes = append(p.Changes, ch)
				}
			}
			continue
		}
		after := desiredFileValues(f)
		after["owner"] = rootOwner
		// A new fleet.yaml copy is shown by digest: its content is the
		// fleet.yaml the plan was made from. config.toml is shown whole.
		summary := after
		if f.Format == FormatYAML {
			summary = Values{"path": f.Path, "owner": rootOwner, "mode": modeString(f.Mode), "sha256": f.SHA256()}
		}
		if managerFresh {
			steps := []Step{StepWrite}
			if f.RestartOnChange || f.RestartKey != nil {
				steps = append(steps, StepRestartRunner)
			}
			p.Changes = append(p.Changes, Change{Addr: f.Addr, Action: Create, After: summary, Steps: steps})
			continue
		}
		if l.FilesPending != "" {
			before := maps.Clone(summary)
			before["state"] = "(not compared: " + l.FilesPending + ")"
			after := maps.Clone(summary)
			after["state"] = "written once the server runs"
			p.Changes = append(p.Changes, Change{Addr: f.Addr, Action: Update, Before: before, After: after,
				Reason: "not compared: " + l.FilesPending, Steps: []Step{StepWrite, StepRestartRunner}})
			continue
		}
		lf, ok := l.Files[f.Addr]
		if !ok {
			continue // not read: FileNotes say why
		}
		if !lf.Exists {
			steps := []Step{StepWrite}
			if f.RestartOnChange || f.RestartKey != nil {
				steps = append(steps, StepRestartRunner)
			}
			p.Changes = append(p.Changes, Change{Addr: f.Addr, Action: Create, After: summary, Steps: steps})
			continue
		}
		if lf.Unreadable != "" {
			p.Changes = append(p.Changes, unreadableFileChange(f, lf, after))
			continue
		}
		ch := Change{Addr: f.Addr, After: after}
		var changed, restart bool
		switch f.Format {
		case FormatBytes:
			ch.Before = Values{"path": f.Path, "mode": modeString(lf.Mode), "sha256": lf.Digest}
			changed = lf.Digest != f.SHA256()
			restart = changed && f.RestartOnChange
		default:
			var keys []string
			ch.Before, keys = structuredDiff(f, lf, after, &ch.SensitiveChanges)
			sort.Strings(ch.SensitiveChanges)
			changed = len(keys) > 0
			for _, k := range keys {
				if f.RestartKey != nil && f.RestartKey(k) {
					restart = true
				}
			}
		}
		maps.Copy(ch.Before, attributeValues(lf))
		if lf.Owner == "" {
			ch.Before["owner"] = rootOwner // not reported: not compared
		}
		attrs := attributesDiffer(f, lf)
		switch {
		case changed || attrs:
			ch.Action = Update
			if changed {
				ch.Steps = append(ch.Steps, StepWrite)
			}
			if attrs {
				ch.Steps = append(ch.Steps, StepSetAttributes)
			}
			if restart {
				ch.Steps = append(ch.Steps, StepRestartRunner)
			}
		case f.DigestRecord != "" && !lf.Recorded:
			ch.Steps = []Step{StepRecordDigest}
		}
		p.Changes = append(p.Changes, ch)
	}
	p.NotCompared = append(p.NotCompared, l.FileNotes...)
	if l.RestartPending && !managerFresh {
		restarting := false
		for _, ch := range p.Changes {
			restarting = restarting || slices.Contains(ch.Steps, StepRestartRunner)
		}
		if !restarting {
			reason := "an earlier apply changed plugin settings and stopped before restarting gitlab-runner"
			if l.RestartUnreadable != "" {
				reason = "the restart marker cannot be read (" + l.RestartUnreadable + "): restarted to be sure, and the marker rewritten"
			}
			p.Changes = append(p.Changes, Change{Addr: AddrRestart, Action: Update,
				Reason: reason,
				Before: Values{"restart": "pending"}, After: Values{"restart": "done"},
				Steps: []Step{StepRestartRunner}})
		}
	}
}

func modeString(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())) }

func desiredFileValues(f DesiredFile) Values {
	v := Values{"path": f.Path, "mode": modeString(f.Mode)}
	switch f.Format {
	case FormatBytes:
		v["sha256"] = f.SHA256()
	default:
		flat, _ := flattenDocument(f.Format, f.Masked)
		real, _ := flattenDocument(f.Format, f.Content)
		for k, mv := range flat {
			if f.Unknown != "" && strings.Contains(fmt.Sprint(real[k]), f.Unknown) {
				v["content."+k] = knownAfterApply
				continue
			}
			if !reflect.DeepEqual(mv, real[k]) {
				v["content."+k] = Sensitive
				continue
			}
			v["content."+k] = mv
		}
	}
	return v
}

// structuredDiff compares a structured file key by key. It returns the live
// values to show (masked as sensitive.go describes) and the keys that
// differ.
func structuredDiff(f DesiredFile, lf LiveFile, after Values, secretChanges *[]string) (Values, []string) {
	before := Values{"path": f.Path, "mode": modeString(lf.Mode)}
	live, err := flattenDocument(f.Format, lf.Content)
	if err != nil {
		before["content"] = "(unreadable: " + err.Error() + ")"
		return before, []string{"content"}
	}
	want, _ := flattenDocument(f.Format, f.Content)
	masked, _ := flattenDocument(f.Format, f.Masked)
	sensitive := func(k string) bool { return !reflect.DeepEqual(want[k], masked[k]) || looksSecret(k) }
	ignored := func(k string) bool { return f.Ignore != nil && f.Ignore(k) }
	var changed []string
	for k, lv := range live {
		if ignored(k) {
			continue
		}
		wv, ok := want[k]
		unknown := f.Unknown != "" && ok && strings.Contains(fmt.Sprint(wv), f.Unknown)
		switch {
		case unknown || sameValue(lv, wv, ok):
			// Equal (or not comparable): show it as the plan will leave it.
			if ok {
				before["content."+k] = after["content."+k]
			}
		case sensitive(k):
			before["content."+k] = Sensitive
			changed = append(changed, k)
			*secretChanges = append(*secretChanges, "content."+k)
		case ok:
			before["content."+k] = declaredLive(k, lv, wv)
			changed = append(changed, k)
		default:
			before["content."+k] = undeclaredLive(k, lv)
			changed = append(changed, k)
		}
	}
	for k := range want {
		if _, ok := live[k]; !ok && !ignored(k) {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return before, changed
}

// sameValue compares a live value with the desired one (present reports
// whether the desired file has the key at all). gitlab-runner rewrites the
// whole config.toml when it refreshes a token, with every zero value spelt
// out and durations in their long form: a zero value stands for a key left
// out, and "1h0m0s" is "1h".
func sameValue(live, want any, present bool) bool {
	if !present {
		return isZero(live)
	}
	if reflect.DeepEqual(live, want) {
		return true
	}
	ls, lok := live.(string)
	ws, wok := want.(string)
	if lok && wok {
		ld, lerr := time.ParseDuration(ls)
		wd, werr := time.ParseDuration(ws)
		return lerr == nil && werr == nil && ld == wd
	}
	return false
}

func isZero(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case float64:
		return t == 0
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func formatName(f FileFormat) string {
	switch f {
	case FormatTOML:
		return "TOML"
	case FormatYAML:
		return "YAML"
	}
	return "data"
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// liveManagers finds the labelled manager of the desired one: the server
// with its name, else — when no unlabelled server has its name — the only
// labelled manager, which is then renamed in place. Other labelled managers
// are returned to be pruned.
func liveManagers(d *Desired, l *Live) (*Server, []Server) {
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

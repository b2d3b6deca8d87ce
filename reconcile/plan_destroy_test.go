package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

// destroyLive is what ListDestroyable finds of fleet "ci" with one runner on
// the fleetctl plugin and one on the upstream plugin (group "up").
func destroyLive() *Live {
	upstream := map[string]string{spec.UpstreamManagedByLabel: spec.UpstreamManagedBy, spec.UpstreamInstanceGroupLabel: "up"}
	return &Live{
		SSHKeys: []SSHKey{
			{ID: 1, Name: "dev", PublicKey: testPub, Labels: owner(RoleSSHKey, nil)},
			{ID: 2, Name: "fleetctl-ci", PublicKey: testPub, Labels: owner(RoleInstance, nil)},
		},
		UpstreamSSHKeys: []SSHKey{{ID: 3, Name: "up", PublicKey: testPub, Labels: upstream}},
		Firewalls:       []Firewall{{ID: 4, Name: "runner", Labels: owner(RoleFirewall, nil), ApplyTo: []string{"runner"}}},
		Servers: []Server{
			{ID: 5, Name: "runner-manager", Status: "running", ServerType: "cpx11", Image: "debian-12", Location: "hel1", IPv4: "203.0.113.5",
				Protection: Protection{Delete: true, Rebuild: true}, Labels: owner(RoleManager, map[string]string{LabelSSHHostKey: "abc", "runner": ""})},
			{ID: 6, Name: "docker-1", Status: "running", ServerType: "cpx21", Labels: owner(RoleInstance, map[string]string{spec.LabelRunner: "docker"})},
		},
		UpstreamInstances: []Server{{ID: 7, Name: "up-1a2b3c4d", Status: "running", ServerType: "cpx21", Labels: upstream}},
	}
}

func TestDiffDestroy(t *testing.T) {
	groups := []UpstreamGroup{{Runner: "upstream-runner", Name: "up"}}
	p := DiffDestroy("ci", groups, destroyLive(), nil)
	type row struct {
		Addr   Addr
		ID     int64
		Reason string
		Steps  []Step
	}
	var got []row
	for _, ch := range p.Changes {
		if ch.Action != Delete || ch.After != nil {
			t.Errorf("%s: %s with after %v, want a delete", ch.Addr, ch.Action, ch.After)
		}
		got = append(got, row{ch.Addr, ch.ID, ch.Reason, ch.Steps})
	}
	want := []row{
		{"hcloud_ssh_key.dev", 1, "", []Step{StepDelete}},
		{"hcloud_ssh_key.fleetctl-ci", 2, "the plugin's SSH key", []Step{StepDelete}},
		{"hcloud_ssh_key.up", 3, "the upstream plugin's SSH key of runner upstream-runner", []Step{StepDelete}},
		{"hcloud_firewall.runner", 4, "", []Step{StepRemoveResources, StepDelete}},
		{"hcloud_server.docker-1", 6, "the plugin's autoscaled instance of runner docker", []Step{StepDelete}},
		{"hcloud_server.runner-manager", 5, "", []Step{StepDisableProtection, StepDelete}},
		{"hcloud_server.up-1a2b3c4d", 7, "the upstream plugin's autoscaled instance of runner upstream-runner", []Step{StepDelete}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if p.Mode != ModeDestroy || len(p.Instances) != 0 || p.Counts() != (Counts{Destroy: 7}) {
		t.Errorf("mode %q, instances %v, counts %+v", p.Mode, p.Instances, p.Counts())
	}
	if d := cmp.Diff(groups, p.UpstreamGroups); d != "" {
		t.Errorf("upstream groups (-want +got):\n%s", d)
	}
	// The manager's internal labels stay out of the plan, as in Diff.
	if d := cmp.Diff(map[string]any{spec.LabelFleet: "ci", spec.LabelRole: RoleManager, "runner": ""}, p.Change("hcloud_server.runner-manager").Before["labels"]); d != "" {
		t.Errorf("manager labels (-want +got):\n%s", d)
	}
}

// TestDiffDestroyFingerprints: a saved destroy plan binds to everything it
// deletes but the autoscaled instances, which come and go while the plugin
// runs (Apply lists the servers again for them), and to the fleet's name and
// upstream groups.
func TestDiffDestroyFingerprints(t *testing.T) {
	groups := []UpstreamGroup{{Runner: "upstream-runner", Name: "up"}}
	base := DiffDestroy("ci", groups, destroyLive(), nil)
	for _, tc := range []struct {
		name        string
		change      func(l *Live)
		liveChanges bool
	}{
		{"same lists", func(*Live) {}, false},
		{"an instance more", func(l *Live) {
			l.Servers = append(l.Servers, Server{ID: 8, Name: "docker-2", Labels: owner(RoleInstance, nil)})
		}, false},
		{"an upstream instance gone", func(l *Live) { l.UpstreamInstances = nil }, false},
		{"a firewall relabelled", func(l *Live) { l.Firewalls[0].Labels = owner(RoleFirewall, map[string]string{"x": "y"}) }, true},
		{"the firewall applied to a server by hand", func(l *Live) { l.Firewalls[0].Servers = []int64{42} }, true},
		{"the manager's protection lifted", func(l *Live) { l.Servers[0].Protection = Protection{} }, true},
		{"an SSH key more", func(l *Live) {
			l.SSHKeys = append(l.SSHKeys, SSHKey{ID: 9, Name: "ops", Labels: owner(RoleSSHKey, nil)})
		}, true},
		{"the plugin's key gone", func(l *Live) { l.SSHKeys = l.SSHKeys[:1] }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := destroyLive()
			tc.change(l)
			p := DiffDestroy("ci", groups, l, nil)
			if got := p.LiveFingerprint != base.LiveFingerprint; got != tc.liveChanges {
				t.Errorf("live fingerprint changed: %v, want %v", got, tc.liveChanges)
			}
			if p.DesiredFingerprint != base.DesiredFingerprint {
				t.Error("desired fingerprint changed with the live state")
			}
		})
	}
	if p := DiffDestroy("ci", nil, destroyLive(), nil); p.DesiredFingerprint == base.DesiredFingerprint {
		t.Error("desired fingerprint ignores the upstream groups")
	}
	normal := &Plan{Fleet: "ci", LiveFingerprint: base.LiveFingerprint, DesiredFingerprint: base.DesiredFingerprint}
	if err := CheckSaved(base, normal); err == nil {
		t.Error("a saved destroy plan passed for a normal plan")
	}
	if err := CheckSaved(normal, base); err == nil {
		t.Error("a saved normal plan passed for a destroy plan")
	}
	if err := CheckSaved(base, DiffDestroy("ci", groups, destroyLive(), nil)); err != nil {
		t.Errorf("unchanged destroy plan refused: %v", err)
	}
}

// TestDiffDestroyMasksSecrets: like Diff, DiffDestroy masks what the plan
// shows, here a secret someone put into a label; the fingerprints still
// tell a changed secret apart.
func TestDiffDestroyMasksSecrets(t *testing.T) {
	secrets := NewSecrets()
	secrets.Add("s3cr3t-token-value")
	l := destroyLive()
	l.Servers[0].Labels["note"] = "token=s3cr3t-token-value"
	p := DiffDestroy("ci", nil, l, secrets)
	if got := p.Change("hcloud_server.runner-manager").Before["labels"].(map[string]any)["note"]; got != "token="+Sensitive {
		t.Errorf("label in the destroy plan: %q, want it masked", got)
	}
	l = destroyLive()
	l.Servers[0].Labels["note"] = "token=other-secret-value"
	secrets.Add("other-secret-value")
	if q := DiffDestroy("ci", nil, l, secrets); q.LiveFingerprint == p.LiveFingerprint {
		t.Error("the live fingerprint ignores a changed value that the plan masks")
	}
}

func TestCheckApplicableDestroyPlan(t *testing.T) {
	p := DiffDestroy("ci", nil, destroyLive(), nil)
	if err := CheckApplicable(p, ApplyOptions{AllowDestroy: true}); err == nil {
		t.Error("a destroy plan passed without confirmation")
	}
	if err := CheckApplicable(p, ApplyOptions{Confirm: "other"}); err == nil {
		t.Error("a destroy plan passed with another fleet's name")
	}
	// Confirmed, it needs neither --allow-destroy nor the desired state.
	if err := CheckApplicable(p, ApplyOptions{Confirm: "ci"}); err != nil {
		t.Errorf("confirmed destroy plan refused: %v", err)
	}
}

package reconcile

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

const testPub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ8Xz7l1Yw0Y2s9b3VfR0m6m7kq3m2v1bq2m3n4o5p6 dev@laptop"

func owner(role string, extra map[string]string) map[string]string {
	l := map[string]string{spec.LabelFleet: "ci", spec.LabelRole: role}
	maps.Copy(l, extra)
	return l
}

var sshRule = FirewallRule{Description: "ssh", Direction: "in", Protocol: "tcp", Port: "22", SourceIPs: []string{"0.0.0.0/0", "::/0"}}
var icmpRule = FirewallRule{Description: "icmp", Direction: "in", Protocol: "icmp", SourceIPs: []string{"0.0.0.0/0", "::/0"}}

func testDesired() *Desired {
	return &Desired{
		Fleet:     "ci",
		SSHKeys:   []DesiredSSHKey{{Name: "dev", PublicKey: testPub, Labels: owner(RoleSSHKey, nil)}},
		Firewalls: []DesiredFirewall{{Name: "runner", Labels: owner(RoleFirewall, nil), Rules: []FirewallRule{icmpRule, sshRule}, ApplyTo: []string{"runner"}}},
		Manager: DesiredServer{
			Name: "runner-manager", ServerType: "cpx11", Image: "debian-12", Location: "hel1", SSHKeys: []string{"dev"}, Protection: true,
			Labels: owner(RoleManager, map[string]string{"runner": "", LabelUserData: "ud1", LabelSSHKeys: "sk1"}), Architecture: "x86",
		},
		Files: []DesiredFile{
			{Addr: AddrBinary, Path: "/usr/local/bin/fleetctl", Mode: 0o755, Content: []byte("binary-v1"), RestartOnChange: true},
			{Addr: AddrConfigTOML, Path: "/etc/gitlab-runner/config.toml", Mode: 0o600, Format: FormatTOML,
				Content:    []byte("concurrent = 10\n[[runners]]\nname = \"r\"\ntoken = \"glrt-SECRET\"\n[runners.autoscaler]\nmax_instances = 5\n[[runners.autoscaler.policy]]\nidle_count = 8\nidle_time = \"1h\"\n"),
				Masked:     []byte("concurrent = 10\n[[runners]]\nname = \"r\"\ntoken = \"<masked: env RUNNER_TOKEN>\"\n[runners.autoscaler]\nmax_instances = 5\n[[runners.autoscaler.policy]]\nidle_count = 8\nidle_time = \"1h\"\n"),
				Unknown:    unknownMarker,
				Ignore:     writtenBack,
				RestartKey: configRestartKey.MatchString},
		},
	}
}

// testLive is the live state after a clean apply of testDesired.
func testLive() *Live {
	d := testDesired()
	mgrLabels := maps.Clone(d.Manager.Labels)
	mgrLabels[LabelSSHHostKey] = "sha256-hostkey"
	cfg := d.Files[1]
	return &Live{
		SSHKeys:   []SSHKey{{ID: 1, Name: "dev", PublicKey: strings.TrimSuffix(testPub, " dev@laptop"), Labels: owner(RoleSSHKey, nil)}},
		Firewalls: []Firewall{{ID: 2, Name: "runner", Labels: owner(RoleFirewall, nil), Rules: []FirewallRule{sshRule, icmpRule}, ApplyTo: []string{"runner"}}},
		Servers: []Server{{ID: 3, Name: "runner-manager", Status: "running", ServerType: "cpx11", Architecture: "x86", Image: "debian-12", Location: "hel1",
			Labels: mgrLabels, Protection: Protection{Delete: true, Rebuild: true}, IPv4: "127.0.0.2"}},
		Files: map[Addr]LiveFile{
			AddrBinary:     {Exists: true, Mode: 0o755, Digest: d.Files[0].SHA256()},
			AddrConfigTOML: {Exists: true, Mode: 0o600, Content: cfg.Content},
		},
	}
}

func actions(p *Plan) map[Addr]string {
	out := map[Addr]string{}
	for _, ch := range p.Changes {
		s := ch.Action.String()
		if len(ch.Steps) > 0 {
			var steps []string
			for _, st := range ch.Steps {
				steps = append(steps, string(st))
			}
			s += " " + strings.Join(steps, ",")
		}
		out[ch.Addr] = s
	}
	return out
}

func TestDiff(t *testing.T) {
	t.Parallel()
	clean := map[Addr]string{
		"hcloud_ssh_key.dev": "no-op", "hcloud_firewall.runner": "no-op", "hcloud_server.runner-manager": "no-op",
		AddrBinary: "no-op", AddrConfigTOML: "no-op",
	}
	with := func(over map[Addr]string) map[Addr]string {
		m := maps.Clone(clean)
		for k, v := range over {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name      string
		desired   func(*Desired)
		live      func(*Live)
		adopt     bool
		want      map[Addr]string
		wantErr   string // substring of a plan error
		wantNote  string // substring of a note
		instances int
	}{
		{name: "in sync", want: clean},
		{name: "from empty", live: func(l *Live) { *l = Live{} }, want: map[Addr]string{
			"hcloud_ssh_key.dev": "create create", "hcloud_firewall.runner": "create create",
			"hcloud_server.runner-manager": "create create,change_protection",
			AddrBinary:                     "create write,restart_gitlab_runner", AddrConfigTOML: "create write,restart_gitlab_runner",
		}},
		{name: "firewall rules replaced by hand", live: func(l *Live) {
			l.Firewalls[0].Rules = []FirewallRule{{Direction: "in", Protocol: "tcp", Port: "80", SourceIPs: []string{"0.0.0.0/0"}}}
		}, want: with(map[Addr]string{"hcloud_firewall.runner": "update set_rules"})},
		{name: "firewall rules in another order are the same set", live: func(l *Live) {
			l.Firewalls[0].Rules = []FirewallRule{icmpRule, sshRule}
		}, want: clean},
		{name: "firewall selector added and removed", live: func(l *Live) {
			l.Firewalls[0].ApplyTo = []string{"old"}
		}, want: with(map[Addr]string{"hcloud_firewall.runner": "update apply_to_resources,remove_from_resources"})},
		{name: "label removed from the manager", live: func(l *Live) {
			delete(l.Servers[0].Labels, "runner")
		}, want: with(map[Addr]string{"hcloud_server.runner-manager": "update update"})},
		{name: "manager powered off: power on, files written once it runs", live: func(l *Live) {
			l.Servers[0].Status = "off"
			l.Files = nil
			l.FilesPending = "server runner-manager is off"
		}, want: with(map[Addr]string{
			"hcloud_server.runner-manager": "update poweron",
			AddrBinary:                     "update write,restart_gitlab_runner", AddrConfigTOML: "update write,restart_gitlab_runner",
		})},
		{name: "server type changes in place", desired: func(d *Desired) { d.Manager.ServerType = "cpx21" },
			want: with(map[Addr]string{"hcloud_server.runner-manager": "update change_type"})},
		{name: "image change replaces, files recreated", desired: func(d *Desired) { d.Manager.Image = "debian-13" },
			want: with(map[Addr]string{
				"hcloud_server.runner-manager": "delete-then-create disable_protection,delete,create,change_protection",
				AddrBinary:                     "create write,restart_gitlab_runner", AddrConfigTOML: "create write,restart_gitlab_runner",
			})},
		{name: "an image Hetzner no longer lists is no change", live: func(l *Live) { l.Servers[0].Image = "" }, want: clean},
		{name: "user_data change replaces", desired: func(d *Desired) { d.Manager.Labels[LabelUserData] = "ud2" },
			want: with(map[Addr]string{
				"hcloud_server.runner-manager": "delete-then-create disable_protection,delete,create,change_protection",
				AddrBinary:                     "create write,restart_gitlab_runner", AddrConfigTOML: "create write,restart_gitlab_runner",
			})},
		{name: "manager renamed in place", desired: func(d *Desired) { d.Manager.Name = "manager-2" },
			want: with(map[Addr]string{"hcloud_server.runner-manager": "", "hcloud_server.manager-2": "update update"})},
		{name: "a second labelled manager is pruned", live: func(l *Live) {
			l.Servers = append(l.Servers, Server{ID: 7, Name: "old-manager", Status: "running", Labels: owner(RoleManager, nil)})
		}, want: with(map[Addr]string{"hcloud_server.old-manager": "delete delete"})},
		{name: "protection lifted by hand", live: func(l *Live) { l.Servers[0].Protection = Protection{} },
			want: with(map[Addr]string{"hcloud_server.runner-manager": "update change_protection"})},
		{name: "ssh key left the spec is pruned", desired: func(d *Desired) {
			d.SSHKeys = nil
		}, want: with(map[Addr]string{"hcloud_ssh_key.dev": "delete delete"})},
		{name: "public key changed replaces the key", desired: func(d *Desired) {
			d.SSHKeys[0].PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOther"
		}, want: with(map[Addr]string{"hcloud_ssh_key.dev": "delete-then-create delete,create"})},
		{name: "ssh key renamed by hand is renamed back in place", live: func(l *Live) {
			l.SSHKeys[0].Name = "dev-renamed"
		}, want: with(map[Addr]string{"hcloud_ssh_key.dev": "update update"})},
		{name: "a renamed key with another public key is pruned, not renamed", live: func(l *Live) {
			l.SSHKeys[0].Name = "dev-renamed"
			l.SSHKeys[0].PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOther"
		}, want: with(map[Addr]string{"hcloud_ssh_key.dev": "create create", "hcloud_ssh_key.dev-renamed": "delete delete"})},
		{name: "unlabelled namesake is an error suggesting --adopt", live: func(l *Live) {
			l.UnlabelledSSHKeys = map[string]SSHKey{"dev": {ID: 9, Name: "dev", PublicKey: testPub}}
			l.SSHKeys = nil
		}, want: with(map[Addr]string{"hcloud_ssh_key.dev": ""}), wantErr: "--adopt"},
		{name: "unlabelled namesake adopted", adopt: true, live: func(l *Live) {
			l.UnlabelledFirewalls = map[string]Firewall{"runner": {ID: 9, Name: "runner", Labels: map[string]string{"team": "x"}, Rules: []FirewallRule{sshRule, icmpRule}, ApplyTo: []string{"runner"}}}
			l.Firewalls = nil
		}, want: with(map[Addr]string{"hcloud_firewall.runner": "update adopt"})},
		{name: "plugin's instances and key are listed, never changed", live: func(l *Live) {
			l.Servers = append(l.Servers, Server{ID: 50, Name: "runner-docker-autoscaler-abc", Status: "running", Labels: owner(RoleInstance, nil)})
			l.SSHKeys = append(l.SSHKeys, SSHKey{ID: 51, Name: "fleetctl-plugin", Labels: owner("plugin-ssh-key", nil)})
		}, want: clean, instances: 1},
		{name: "config.toml edited on the manager", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Content = []byte(strings.Replace(string(f.Content), "idle_count = 8", "idle_count = 2", 1))
			l.Files[AddrConfigTOML] = f
		}, want: with(map[Addr]string{AddrConfigTOML: "update write"})},
		{name: "plugin setting changed restarts gitlab-runner", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Content = []byte(strings.Replace(string(f.Content), "max_instances = 5", "max_instances = 3", 1))
			l.Files[AddrConfigTOML] = f
		}, want: with(map[Addr]string{AddrConfigTOML: "update write,restart_gitlab_runner"})},
		{name: "what gitlab-runner writes back is ignored", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Content = []byte(strings.Replace(string(f.Content), "name = \"r\"\n", "name = \"r\"\nid = 7\ntoken_obtained_at = 2026-01-02T03:04:05Z\ntoken_expires_at = 0001-01-01T00:00:00Z\nlimit = 0\n", 1))
			f.Content = []byte(strings.Replace(string(f.Content), "idle_time = \"1h\"", "idle_time = \"1h0m0s\"", 1))
			l.Files[AddrConfigTOML] = f
		}, want: clean},
		{name: "runner token not set: its value is not compared", desired: func(d *Desired) {
			d.Files[1].Content = []byte(strings.Replace(string(d.Files[1].Content), "glrt-SECRET", unknownMarker+"env RUNNER_TOKEN>", 1))
			d.Notes = []Note{{Subject: "gitlab_runner.runners[0].token", Message: "environment variable RUNNER_TOKEN is not set", Blocking: true}}
		}, want: clean, wantNote: "gitlab_runner.runners[0].token: not compared: environment variable RUNNER_TOKEN is not set"},
		{name: "no SSH key: files not compared", live: func(l *Live) {
			l.Files = nil
			l.FileNotes = []Note{{Subject: string(AddrConfigTOML), Message: "manager.ssh.private_key: environment variable SSH_PRIVATE_KEY is not set", Blocking: true}}
		}, want: with(map[Addr]string{AddrBinary: "", AddrConfigTOML: ""}),
			wantNote: "file.config_toml: not compared: manager.ssh.private_key: environment variable SSH_PRIVATE_KEY is not set"},
		{name: "config.toml mode drift", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Mode = 0o644
			l.Files[AddrConfigTOML] = f
		}, want: with(map[Addr]string{AddrConfigTOML: "update set_attributes"})},
		{name: "binary changed restarts", live: func(l *Live) {
			l.Files[AddrBinary] = LiveFile{Exists: true, Mode: 0o755, Digest: "0000"}
		}, want: with(map[Addr]string{AddrBinary: "update write,restart_gitlab_runner"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, l := testDesired(), testLive()
			if tt.desired != nil {
				tt.desired(d)
			}
			if tt.live != nil {
				tt.live(l)
			}
			p := Diff(d, l, tt.adopt)
			if diff := cmp.Diff(tt.want, actions(p)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			errs := strings.Join(p.Errors, "\n")
			if (tt.wantErr == "") != (errs == "") || !strings.Contains(errs, tt.wantErr) {
				t.Errorf("errors = %q, want one containing %q", errs, tt.wantErr)
			}
			var notes []string
			for _, n := range p.NotCompared {
				notes = append(notes, n.String())
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(notes, "\n"), tt.wantNote) {
				t.Errorf("notes = %q, want %q", notes, tt.wantNote)
			}
			if len(p.Instances) != tt.instances {
				t.Errorf("instances = %v, want %d", p.Instances, tt.instances)
			}
			if Diff(d, l, tt.adopt).LiveFingerprint != p.LiveFingerprint {
				t.Error("Diff is not deterministic")
			}
		})
	}
}

func TestDiffShowsExactAttributes(t *testing.T) {
	t.Parallel()
	d, l := testDesired(), testLive()
	d.Manager.ServerType = "cpx21"
	f := l.Files[AddrConfigTOML]
	f.Content = []byte(strings.Replace(strings.Replace(string(f.Content), "idle_count = 8", "idle_count = 2", 1), "glrt-SECRET", "glrt-OTHER", 1))
	l.Files[AddrConfigTOML] = f
	p := Diff(d, l, false)
	srv := p.Change("hcloud_server.runner-manager")
	if srv.Before["server_type"] != "cpx11" || srv.After["server_type"] != "cpx21" {
		t.Errorf("server_type %v -> %v, want cpx11 -> cpx21", srv.Before["server_type"], srv.After["server_type"])
	}
	cfg := p.Change(AddrConfigTOML)
	key := "content.runners[0].autoscaler.policy[0].idle_count"
	if cfg.Before[key] != 2.0 || cfg.After[key] != 8.0 {
		t.Errorf("%s: %v -> %v, want 2 -> 8", key, cfg.Before[key], cfg.After[key])
	}
	if diff := cmp.Diff([]string{"content.runners[0].token"}, cfg.SensitiveChanges); diff != "" {
		t.Errorf("sensitive changes (-want +got):\n%s", diff)
	}
	for _, ch := range p.Changes {
		for _, v := range []Values{ch.Before, ch.After} {
			for k, val := range v {
				if s, ok := val.(string); ok && strings.Contains(s, "glrt-") {
					t.Errorf("%s %s shows a secret: %q", ch.Addr, k, s)
				}
			}
		}
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	p := &Plan{Changes: []Change{{Action: Create}, {Action: Update}, {Action: DeleteThenCreate}, {Action: Delete}, {Action: NoOp}}}
	if diff := cmp.Diff(Counts{Add: 2, Change: 1, Destroy: 2}, p.Counts()); diff != "" {
		t.Error(diff)
	}
}

func TestActionText(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{NoOp, Create, Update, DeleteThenCreate, CreateThenDelete, Delete} {
		b, _ := a.MarshalText()
		var back Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("%v round-trips to %v (%v)", a, back, err)
		}
	}
	if !DeleteThenCreate.IsReplace() || Update.IsReplace() {
		t.Error("IsReplace")
	}
}

package reconcile_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

var fromEmpty = []string{
	"hcloud_ssh_key.dev create",
	"hcloud_firewall.runner create",
	"hcloud_server.runner-manager create",
	"file.fleetctl_binary create",
	"file.fleet_yaml create",
	"file.config_toml create",
}

// TestApplyConverges drives the whole life of a fleet against the simulator:
// from empty, drift made by hand, in-place changes, a refused replace, a
// stale saved plan, destroy.
func TestApplyConverges(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	ctx := context.Background()

	mustEqual(t, "plan from empty", fromEmpty, changed(e.plan(false)))
	res := e.mustApply()
	var done []string
	for _, r := range res {
		done = append(done, r.String())
	}
	mustEqual(t, "apply results", []string{
		"hcloud_ssh_key.dev created", "hcloud_firewall.runner created", "hcloud_server.runner-manager created",
		"file.fleetctl_binary written", "file.fleet_yaml written", "file.config_toml written", "service.gitlab-runner restarted",
	}, done)
	if p := e.plan(false); p.HasChanges() || len(p.NotCompared) > 0 {
		t.Fatalf("plan after apply is not clean:\n%s", planText(t, p))
	}
	if !strings.Contains(e.progress.String(), "Waiting for create_server (server: ") {
		t.Errorf("no action progress on stderr:\n%s", e.progress.String())
	}

	// What landed on the manager.
	cfgPath := filepath.Join(e.stateDir, "servers", "runner-manager", "etc", "gitlab-runner", "config.toml")
	info, err := os.Stat(cfgPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("config.toml: %v, mode %v; want 0600", err, info)
	}
	if !strings.Contains(string(e.managerFile("etc/gitlab-runner/config.toml")), secretRunnerToken) {
		t.Error("config.toml on the manager lacks the runner token")
	}
	if e.restarts() != 1 {
		t.Errorf("gitlab-runner restarted %d times, want 1", e.restarts())
	}
	srv, _, err := e.client.Server.GetByName(ctx, "runner-manager")
	if err != nil || srv == nil {
		t.Fatalf("manager: %v", err)
	}
	if !srv.Protection.Delete || !srv.Protection.Rebuild || srv.Labels[reconcile.LabelSSHHostKey] == "" {
		t.Errorf("manager protection %+v, labels %v", srv.Protection, srv.Labels)
	}
	managerID := srv.ID

	t.Run("drift made by hand appears exactly and apply fixes it", func(t *testing.T) {
		fw, _, _ := e.client.Firewall.GetByName(ctx, "runner")
		port := "80"
		acts, _, err := e.client.Firewall.SetRules(ctx, fw, hcloud.FirewallSetRulesOpts{Rules: []hcloud.FirewallRule{{
			Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, Port: &port, SourceIPs: fw.Rules[0].SourceIPs,
		}}})
		if err == nil {
			err = e.client.Action.WaitFor(ctx, acts...)
		}
		if err != nil {
			t.Fatal(err)
		}
		labels := srv.Labels
		delete(labels, "runner")
		if _, _, err := e.client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Labels: labels}); err != nil {
			t.Fatal(err)
		}
		cfg := string(e.managerFile("etc/gitlab-runner/config.toml"))
		edited := strings.Replace(cfg, "idle_count = 8", "idle_count = 1", 1)
		if edited == cfg {
			t.Fatalf("config.toml has no idle_count = 8:\n%s", cfg)
		}
		os.WriteFile(cfgPath, []byte(edited), 0o600)

		p := e.plan(false)
		mustEqual(t, "drift", []string{
			"hcloud_firewall.runner update", "hcloud_server.runner-manager update", "file.config_toml update",
		}, changed(p))
		text := planText(t, p)
		for _, want := range []string{
			`~ content.runners[0].autoscaler.policy[0].idle_count = 1 -> 8`,
			`+ "runner" = ""`,
			`+ "in tcp port 22 from 0.0.0.0/0,::/0 \"allow ssh from everywhere\"",`,
			`- "in tcp port 80 from 0.0.0.0/0,::/0",`,
			"Plan: 0 to add, 3 to change, 0 to destroy.",
		} {
			if !containsWords(text, want) {
				t.Errorf("plan lacks %q:\n%s", want, text)
			}
		}
		before := e.restarts()
		e.mustApply()
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes after apply:\n%s", planText(t, p))
		}
		if e.restarts() != before {
			t.Error("a policy change restarted gitlab-runner; it reloads the policy by itself")
		}
	})

	t.Run("manager powered off is powered on", func(t *testing.T) {
		act, _, err := e.client.Server.Poweroff(ctx, &hcloud.Server{ID: managerID})
		if err == nil {
			err = e.client.Action.WaitFor(ctx, act)
		}
		if err != nil {
			t.Fatal(err)
		}
		p := e.plan(false)
		if ch := p.Change("hcloud_server.runner-manager"); ch == nil || ch.Action != reconcile.Update || ch.Before["status"] != "off" {
			t.Fatalf("plan does not power the manager on:\n%s", planText(t, p))
		}
		e.mustApply()
		if s, _, _ := e.client.Server.GetByID(ctx, managerID); s.Status != hcloud.ServerStatusRunning {
			t.Fatalf("manager is %s after apply", s.Status)
		}
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes after apply:\n%s", planText(t, p))
		}
	})

	t.Run("plugin setting changed restarts gitlab-runner", func(t *testing.T) {
		e.writeFleet(map[string]string{"max_instances": "3"})
		before := e.restarts()
		mustEqual(t, "plan", []string{"file.fleet_yaml update", "file.config_toml update"}, changed(e.plan(false)))
		e.mustApply()
		if e.restarts() != before+1 {
			t.Errorf("restarts %d -> %d, want one more", before, e.restarts())
		}
	})

	t.Run("a restart an interrupted apply owed is made by the next", func(t *testing.T) {
		marker := filepath.Join(e.stateDir, "servers", "runner-manager", reconcile.RestartMarker)
		if got, err := os.ReadFile(marker); err != nil || string(got) != "done\n" {
			t.Fatalf("restart marker %q, %v; want done", got, err)
		}
		os.WriteFile(marker, []byte("pending\n"), 0o600) // as left by an apply killed before its restart
		mustEqual(t, "plan", []string{"service.gitlab-runner update"}, changed(e.plan(false)))
		before := e.restarts()
		e.mustApply()
		if e.restarts() != before+1 {
			t.Errorf("restarts %d -> %d, want one more", before, e.restarts())
		}
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes:\n%s", planText(t, p))
		}
	})

	t.Run("a saved plan goes stale when live state changes", func(t *testing.T) {
		e.writeFleet(map[string]string{"idle_count": "4"})
		p := e.plan(false)
		file := filepath.Join(t.TempDir(), "plan.json")
		if err := reconcile.WritePlanFile(file, p); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(file)
		e.checkNoSecrets("plan file", string(raw))
		fw, _, _ := e.client.Firewall.GetByName(ctx, "runner")
		labels := fw.Labels
		labels["touched"] = "yes"
		if _, _, err := e.client.Firewall.Update(ctx, fw, hcloud.FirewallUpdateOpts{Labels: labels}); err != nil {
			t.Fatal(err)
		}
		saved, err := reconcile.ReadPlanFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := reconcile.CheckSaved(saved, e.plan(false)); !errors.Is(err, reconcile.ErrStalePlan) {
			t.Fatalf("CheckSaved = %v, want ErrStalePlan", err)
		}
		// Made afresh, the saved plan applies.
		e.mustApply()
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes:\n%s", planText(t, p))
		}
	})

	t.Run("server_type changes in place", func(t *testing.T) {
		e.writeFleet(map[string]string{"server_type": "cpx21"})
		p := e.plan(false)
		ch := p.Change("hcloud_server.runner-manager")
		if ch == nil || ch.Action != reconcile.Update || ch.Before["server_type"] != "cpx11" || ch.After["server_type"] != "cpx21" {
			t.Fatalf("plan:\n%s", planText(t, p))
		}
		e.mustApply()
		s, _, _ := e.client.Server.GetByID(ctx, managerID)
		if s == nil || s.ServerType.Name != "cpx21" || s.Status != hcloud.ServerStatusRunning {
			t.Fatalf("manager after change: %+v", s)
		}
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes:\n%s", planText(t, p))
		}
	})

	t.Run("a replace without --allow-destroy is refused, nothing changed", func(t *testing.T) {
		e.writeFleet(map[string]string{"image": "debian-13"})
		p := e.plan(false)
		ch := p.Change("hcloud_server.runner-manager")
		if ch == nil || ch.Action != reconcile.DeleteThenCreate || !strings.Contains(planText(t, p), "# forces replacement") {
			t.Fatalf("plan:\n%s", planText(t, p))
		}
		e.sim.ResetStats()
		_, err := e.apply(false)
		if err == nil || !strings.Contains(err.Error(), "--allow-destroy") {
			t.Fatalf("apply = %v, want a refusal naming --allow-destroy", err)
		}
		for route, n := range e.sim.Stats().ByRoute {
			if !strings.HasPrefix(route, "GET ") {
				t.Errorf("refused apply sent %d × %s", n, route)
			}
		}
	})

	t.Run("with --allow-destroy the manager is replaced", func(t *testing.T) {
		res, err := e.apply(true)
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, e.progress.String())
		}
		s, _, _ := e.client.Server.GetByName(ctx, "runner-manager")
		if s == nil || s.ID == managerID || s.Image.Name != "debian-13" || !s.Protection.Delete {
			t.Fatalf("manager after replace: %+v (results %v)", s, res)
		}
		if old, _, _ := e.client.Server.GetByID(ctx, managerID); old != nil {
			t.Error("the replaced manager still exists")
		}
		managerID = s.ID
		if p := e.plan(false); p.HasChanges() {
			t.Fatalf("still changes after the replace:\n%s", planText(t, p))
		}
	})

	t.Run("destroy removes what the fleet owns and nothing else", func(t *testing.T) {
		other, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "someone-else", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzQmxNnKOmpiOuC0VYTB1lrtbb8mmZAnpCmHRq1r6Ri"})
		if err != nil {
			t.Fatal(err)
		}
		// The plugin's instance and key carry the fleet label.
		labels := map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleInstance}
		if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "runner-docker-autoscaler-x1", ServerType: &hcloud.ServerType{Name: "cpx21"},
			Image: &hcloud.Image{Name: "debian-12"}, Labels: labels}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "fleetctl-plugin-e2e", Labels: labels,
			PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhdhBc0I3N3WbPRnlfaDRFFCgXPfpmnxXdtVVaKAK+P"}); err != nil {
			t.Fatal(err)
		}
		if p := e.plan(false); len(p.Instances) != 1 || p.HasChanges() {
			t.Fatalf("instance not listed, or changed:\n%s", planText(t, p))
		}
		s := e.session()
		if _, err := s.Destroy(ctx, "wrong"); err == nil {
			t.Fatal("destroy without the fleet's name as confirmation went ahead")
		}
		res, err := s.Destroy(ctx, e.fleet)
		if err != nil {
			t.Fatalf("destroy: %v (did %v)", err, res)
		}
		srvs, _ := e.client.Server.All(ctx)
		fws, _ := e.client.Firewall.All(ctx)
		keys, _ := e.client.SSHKey.All(ctx)
		if len(srvs) != 0 || len(fws) != 0 || len(keys) != 1 || keys[0].ID != other.ID {
			t.Fatalf("left after destroy: %d servers, %d firewalls, keys %v", len(srvs), len(fws), keys)
		}
	})
}

// TestUnlabelledNamesakesAreNeverTouched: resources with the fleet's names
// but without its label are an error suggesting --adopt; apply changes
// nothing; with --adopt they get the labels.
func TestUnlabelledNamesakesAreNeverTouched(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	ctx := context.Background()
	key, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: e.values["pub"], Labels: map[string]string{"owner": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	p := e.plan(false)
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0], "--adopt") {
		t.Fatalf("plan errors %q, want one suggesting --adopt", p.Errors)
	}
	e.sim.ResetStats()
	if _, err := e.apply(false); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("apply = %v, want a refusal", err)
	}
	for route := range e.sim.Stats().ByRoute {
		if !strings.HasPrefix(route, "GET ") {
			t.Errorf("refused apply sent %s", route)
		}
	}
	after, _, _ := e.client.SSHKey.GetByID(ctx, key.ID)
	if len(after.Labels) != 1 {
		t.Fatalf("unlabelled key changed: %v", after.Labels)
	}

	p = e.plan(true)
	if len(p.Errors) != 0 || p.Change("hcloud_ssh_key.dev").Action != reconcile.Update {
		t.Fatalf("plan --adopt:\n%s", planText(t, p))
	}
	if _, err := e.session().Apply(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	after, _, _ = e.client.SSHKey.GetByID(ctx, key.ID)
	if after.Labels[spec.LabelFleet] != e.fleet || after.Labels["owner"] != "me" {
		t.Fatalf("adopted key labels %v", after.Labels)
	}
}

// TestPlanWithLittle: a read-only token, no runner token, no SSH key — as in
// a merge request pipeline. plan still plans the cloud and says what it could
// not compare; apply names the missing secrets and changes nothing.
func TestPlanWithLittle(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	const readOnly = "read-only-token-SECRET"
	e := newEnv(t, hcloudsim.Options{ReadOnlyToken: readOnly})
	e.mustApply()
	e.write("hcloud-token", readOnly)
	os.Remove(filepath.Join(e.dir, "runner-token"))
	os.Remove(filepath.Join(e.dir, "id_ed25519"))
	e.writeFleet(map[string]string{"idle_count": "2"})

	p := e.plan(false)
	if p.HasChanges() {
		t.Fatalf("changes planned although nothing comparable changed:\n%s", planText(t, p))
	}
	text := planText(t, p)
	for _, want := range []string{
		"file.config_toml: not compared: manager.ssh.private_key: secret file " + filepath.Join(e.dir, "id_ed25519"),
		"gitlab_runner.runners[0].token: not compared: secret file " + filepath.Join(e.dir, "runner-token"),
		"No changes to what could be compared; 4 items were not compared (see above).",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, readOnly) {
		t.Error("plan shows the token")
	}
	_, err := e.apply(false)
	if err == nil || !strings.Contains(err.Error(), "gitlab_runner.runners[0].token") || !strings.Contains(err.Error(), "manager.ssh.private_key") {
		t.Fatalf("apply = %v, want a refusal naming both missing secrets", err)
	}
	if strings.Contains(err.Error(), readOnly) {
		t.Error("the error shows the token")
	}
}

// TestApplyWithReadOnlyToken: Hetzner refuses every write of a read-only
// token; apply says what it needs.
func TestApplyWithReadOnlyToken(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	const readOnly = "read-only-token-SECRET"
	e := newEnv(t, hcloudsim.Options{ReadOnlyToken: readOnly})
	e.mustApply()
	e.write("hcloud-token", readOnly)
	e.writeFleet(map[string]string{"server_type": "cpx21"})
	_, err := e.apply(false)
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "read & write") {
		t.Fatalf("apply with a read-only token = %v", err)
	}
	if strings.Contains(err.Error(), readOnly) {
		t.Error("the error shows the token")
	}
}

// containsWords reports whether text contains want, ignoring how much white
// space separates words (the plan aligns attribute names).
func containsWords(text, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " "))
}

// TestPlanRequests: plan on an applied fleet costs one label-filtered list
// per kind — three requests, however many resources the project and the
// fleet hold — and one more, the upstream plugin's servers, when a runner
// uses that plugin.
func TestPlanRequests(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	var moreKeys, moreFirewalls strings.Builder
	for i := 1; i < 10; i++ {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sshPub, _ := ssh.NewPublicKey(pub)
		fmt.Fprintf(&moreKeys, "  - name: colleague-%d\n    public_key: %q\n", i, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))))
	}
	for i := 1; i < 5; i++ {
		fmt.Fprintf(&moreFirewalls, "  - name: extra-%d\n    rules:\n      - {direction: in, protocol: tcp, port: \"%d\", source_ips: [10.0.0.0/8]}\n"+
			"    apply_to:\n      - label_selector: runner\n", i, 8000+i)
	}
	tests := []struct {
		name   string
		values map[string]string
		want   int
	}{
		// One list per kind, and GET /pricing for the cost.
		{name: "tutorial with the fleetctl plugin", want: 4},
		{name: "tutorial with the upstream plugin", values: map[string]string{"plugin": "hetznercloud/fleeting-plugin-hetzner:latest"}, want: 5},
		{name: "ten SSH keys and five firewalls", values: map[string]string{"more_ssh_keys": moreKeys.String(), "more_firewalls": moreFirewalls.String()}, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, hcloudsim.Options{})
			e.writeFleet(tt.values)
			e.mustApply()
			ctx := context.Background()
			for i := 0; i < 60; i++ { // more than a page of unrelated servers
				if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("unrelated-%d", i),
					ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}, Labels: map[string]string{"team": "web"}}); err != nil {
					t.Fatal(err)
				}
			}
			e.sim.ResetStats()
			p := e.plan(false)
			if p.HasChanges() {
				t.Fatalf("plan:\n%s", planText(t, p))
			}
			if stats := e.sim.Stats(); stats.Total != tt.want {
				t.Errorf("plan sent %d requests, want %d: %v", stats.Total, tt.want, stats.ByRoute)
			}
			keys, firewalls := 0, 0
			for _, ch := range p.Changes {
				switch ch.Addr.Kind() {
				case reconcile.KindSSHKey:
					keys++
				case reconcile.KindFirewall:
					firewalls++
				}
			}
			if tt.values["more_ssh_keys"] != "" && (keys != 10 || firewalls != 5) {
				t.Errorf("the plan compared %d SSH keys and %d firewalls, want 10 and 5", keys, firewalls)
			}
		})
	}
}

// TestCreateConflictAdoptsOwnResource: an apply killed after Hetzner created
// a resource but before it saw the answer leaves a labelled resource the next
// plan did not know of; the create's 409 uniqueness_error adopts it.
func TestCreateConflictAdoptsOwnResource(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	ctx := context.Background()
	s := e.session()
	p, err := s.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleSSHKey}
	key, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: e.values["pub"], Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	fw, _, err := e.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "runner", Labels: map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleFirewall}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, p, false); err != nil {
		t.Fatalf("apply: %v\n%s", err, e.progress.String())
	}
	keys, _ := e.client.SSHKey.All(ctx)
	fws, _ := e.client.Firewall.All(ctx)
	if len(keys) != 1 || keys[0].ID != key.ID || len(fws) != 1 || fws[0].ID != fw.Firewall.ID {
		t.Fatalf("duplicates or replacements: keys %v, firewalls %v", keys, fws)
	}
	if p := e.plan(false); p.HasChanges() {
		t.Fatalf("not converged:\n%s", planText(t, p))
	}
}

// TestApplyWithFaults: with the API answering many requests with 429 or
// 5xx, apply still converges.
func TestApplyWithFaults(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	for _, f := range []hcloudsim.Fault{
		{Path: "/v1/ssh_keys*", Count: 2, Status: 503},
		{Method: "POST", Path: "/v1/firewalls", Count: 2, Status: 429},
		{Method: "POST", Path: "/v1/servers", Count: 1, Status: 502},
		{Path: "/v1/actions*", Count: 3, Status: 500},
		{Path: "/v1/servers*", Count: 2, Status: 504},
	} {
		if err := e.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	e.mustApply()
	if p := e.plan(false); p.HasChanges() {
		t.Fatalf("not converged:\n%s", planText(t, p))
	}
	srvs, _ := e.client.Server.All(context.Background())
	if len(srvs) != 1 {
		t.Fatalf("%d servers, want 1", len(srvs))
	}
}

// TestHostKeyMismatchRefused: when the manager's host key does not match the
// fingerprint recorded at create time, fleetctl does not talk to it: plan
// fails (never a note that a drift check would pass over) naming the server
// and both fingerprints, and apply refuses, changing nothing.
func TestHostKeyMismatchRefused(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	ctx := context.Background()
	srv, _, _ := e.client.Server.GetByName(ctx, "runner-manager")
	presented := srv.Labels[reconcile.LabelSSHHostKey]
	const wrong = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	e.writeFleet(map[string]string{"idle_count": "3"})
	before := e.managerFile("etc/gitlab-runner/config.toml")

	// apply connects with the fingerprint its plan verified: one that no
	// longer matches is refused the same way.
	s := e.session()
	saved, err := s.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	saved.Change(reconcile.NewAddr(reconcile.KindServer, "runner-manager")).Before["ssh_host_key"] = wrong
	var mismatch *reconcile.HostKeyMismatchError
	if _, err := s.Apply(ctx, saved, false); !errors.As(err, &mismatch) {
		t.Fatalf("apply = %v, want a HostKeyMismatchError", err)
	}
	if string(e.managerFile("etc/gitlab-runner/config.toml")) != string(before) {
		t.Fatal("config.toml was written to a manager whose host key does not match")
	}

	labels := srv.Labels
	labels[reconcile.LabelSSHHostKey] = wrong
	if _, _, err := e.client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Labels: labels}); err != nil {
		t.Fatal(err)
	}
	p, err := e.session().Plan(ctx, false)
	if err == nil {
		t.Fatalf("plan succeeded on a manager whose host key does not match:\n%s", planText(t, p))
	}
	if !errors.As(err, &mismatch) {
		t.Fatalf("plan error %v, want a HostKeyMismatchError", err)
	}
	for _, want := range []string{"server runner-manager (id ", "presented the SSH host key " + presented, "records " + wrong, "hcloud server add-label"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("plan error lacks %q:\n%v", want, err)
		}
	}
	e.checkNoSecrets("plan error", err.Error())
}

// TestInterruptedApplyConverges cancels a from-empty apply at several points
// (a cancelled context stops it as abruptly as apply's code allows) and runs
// apply again: it always converges, with no duplicate resource.
func TestInterruptedApplyConverges(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	for _, stop := range []time.Duration{2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond} {
		t.Run(stop.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, hcloudsim.Options{ActionDuration: 40 * time.Millisecond})
			s := e.session()
			p, err := s.Plan(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), stop)
			s.Apply(ctx, p, false)
			cancel()
			e.mustApply()
			if p := e.plan(false); p.HasChanges() {
				t.Fatalf("not converged:\n%s", planText(t, p))
			}
			bg := context.Background()
			srvs, _ := e.client.Server.All(bg)
			fws, _ := e.client.Firewall.All(bg)
			keys, _ := e.client.SSHKey.All(bg)
			if len(srvs) != 1 || len(fws) != 1 || len(keys) != 1 {
				t.Fatalf("%d servers, %d firewalls, %d keys; want one each", len(srvs), len(fws), len(keys))
			}
		})
	}
}

// TestManagerNotAnsweringSSH: a running manager that does not answer SSH
// (still booting) is not an error: plan says its files are written once it
// does, and apply waits for it.
func TestManagerNotAnsweringSSH(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	e.values["port"] = "1" // nothing listens there
	e.writeFleet(nil)
	p := e.plan(false)
	ch := p.Change(reconcile.AddrConfigTOML)
	if ch == nil || ch.Action != reconcile.Update || !strings.Contains(ch.Reason, "does not accept SSH yet") {
		t.Fatalf("plan:\n%s", planText(t, p))
	}
	for _, n := range p.NotCompared {
		if n.Blocking {
			t.Errorf("blocking note %s", n)
		}
	}
}

// TestManagerAddressChangedWhileOff: a server's primary IP may change while
// it is off (unassigned, another assigned). Apply powers the manager on and
// writes its files at the address it has then, not the one the plan saw.
func TestManagerAddressChangedWhileOff(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	ctx := context.Background()
	srv, _, err := e.client.Server.GetByName(ctx, "runner-manager")
	if err != nil || srv == nil {
		t.Fatalf("manager: %v", err)
	}
	act, _, err := e.client.Server.Poweroff(ctx, srv)
	if err == nil {
		err = e.client.Action.WaitFor(ctx, act)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Something else holds the manager's address now: the simulator
	// brings the manager up on another one when it is powered on.
	old := srv.PublicNet.IPv4.IP.String()
	squatter, err := net.Listen("tcp", net.JoinHostPort(old, fmt.Sprint(e.sshPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	e.writeFleet(map[string]string{"idle_count": "5"})
	e.mustApply()
	moved, _, _ := e.client.Server.GetByID(ctx, srv.ID)
	if moved.PublicNet.IPv4.IP.String() == old {
		t.Fatalf("the manager kept %s; the test needs it moved", old)
	}
	if cfg := string(e.managerFile("etc/gitlab-runner/config.toml")); !strings.Contains(cfg, "idle_count = 5") {
		t.Errorf("config.toml was not written:\n%s", cfg)
	}
	if p := e.plan(false); p.HasChanges() {
		t.Fatalf("still changes:\n%s", planText(t, p))
	}
}

package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// strangerWithFirewall creates a server outside the fleet and applies the
// fleet's firewall to it by hand, as `hcloud firewall apply-to-resource NAME
// --type server --server stranger` does. It checks that the simulator
// answers as Hetzner documents: the server is listed in the firewall's
// applied_to, and deleting the firewall is refused with resource_in_use.
func strangerWithFirewall(t *testing.T, e *env, firewall string) *hcloud.Server {
	t.Helper()
	ctx := context.Background()
	res, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "stranger", ServerType: &hcloud.ServerType{Name: "cpx11"},
		Image: &hcloud.Image{Name: "debian-12"}, Labels: map[string]string{"team": "other"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...); err != nil {
		t.Fatal(err)
	}
	fw, _, err := e.client.Firewall.GetByName(ctx, firewall)
	if err != nil || fw == nil {
		t.Fatalf("firewall %s: %v", firewall, err)
	}
	acts, _, err := e.client.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: res.Server.ID}}})
	if err == nil {
		err = e.client.Action.WaitFor(ctx, acts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	fw, _, _ = e.client.Firewall.GetByID(ctx, fw.ID)
	if !slices.ContainsFunc(fw.AppliedTo, func(r hcloud.FirewallResource) bool {
		return r.Type == hcloud.FirewallResourceTypeServer && r.Server != nil && r.Server.ID == res.Server.ID
	}) {
		t.Fatalf("the firewall's applied_to does not list the server it was applied to: %+v", fw.AppliedTo)
	}
	// Refused while applied, as on Hetzner (nothing is deleted here: the
	// refusal is the point).
	if _, err := e.client.Firewall.Delete(ctx, fw); !hcloud.IsError(err, hcloud.ErrorCodeResourceInUse) {
		t.Fatalf("deleting a firewall applied to a server: %v, want resource_in_use", err)
	}
	return res.Server
}

// TestDestroyDetachesFirewallFromOutsideServer: the fleet's firewall applied
// by hand to a server outside the fleet no longer makes destroy fail on
// resource_in_use on every run: destroy detaches it, says from which server,
// deletes it, and leaves the server alone.
func TestDestroyDetachesFirewallFromOutsideServer(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	stranger := strangerWithFirewall(t, e, "runner")
	ctx := context.Background()

	res, err := e.session().Destroy(ctx, e.fleet)
	if err != nil {
		t.Fatalf("destroy: %v\nprogress:\n%s", err, e.progress.String())
	}
	detached := fmt.Sprintf("server stranger (id %d)", stranger.ID)
	var got []string
	for _, r := range res {
		got = append(got, r.String())
	}
	if !slices.Contains(got, "hcloud_firewall.runner destroyed (detached from "+detached+")") {
		t.Errorf("destroy results do not name the server the firewall was detached from: %q", got)
	}
	if want := "Detaching firewall runner from " + detached; !strings.Contains(e.progress.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, e.progress.String())
	}
	if fws, _ := e.client.Firewall.All(ctx); len(fws) != 0 {
		t.Errorf("%d firewalls left after destroy", len(fws))
	}
	srv, _, err := e.client.Server.GetByID(ctx, stranger.ID)
	if err != nil || srv == nil {
		t.Fatalf("destroy removed the outside server: %v", err)
	}
	if srv.Labels["team"] != "other" || len(srv.Labels) != 1 || srv.Status != hcloud.ServerStatusRunning {
		t.Errorf("destroy changed the outside server: labels %v, status %s", srv.Labels, srv.Status)
	}
}

// TestPruneDetachesFirewallFromOutsideServer: a firewall that left
// fleet.yaml is pruned even when it was applied by hand to an outside
// server, which the result names.
func TestPruneDetachesFirewallFromOutsideServer(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.writeFleet(map[string]string{"more_firewalls": "  - name: extra\n    rules: [{direction: in, protocol: icmp, source_ips: [0.0.0.0/0]}]\n"})
	e.mustApply()
	stranger := strangerWithFirewall(t, e, "extra")
	e.writeFleet(map[string]string{"more_firewalls": ""})

	res, err := e.apply(true)
	if err != nil {
		t.Fatalf("apply: %v\nprogress:\n%s", err, e.progress.String())
	}
	var got []string
	for _, r := range res {
		got = append(got, r.String())
	}
	want := fmt.Sprintf("hcloud_firewall.extra destroyed (detached from server stranger (id %d))", stranger.ID)
	if !slices.Contains(got, want) {
		t.Errorf("apply results %q lack %q", got, want)
	}
	if fw, _, _ := e.client.Firewall.GetByName(context.Background(), "extra"); fw != nil {
		t.Error("the pruned firewall still exists")
	}
	if p := e.plan(false); p.HasChanges() {
		t.Errorf("not converged:\n%s", planText(t, p))
	}
}

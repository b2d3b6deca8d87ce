package hcloudsim

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func firewallsOfServer(t *testing.T, env *testEnv, id int64) []int64 {
	t.Helper()
	srv, _, err := env.client.Server.GetByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, f := range srv.PublicNet.Firewalls {
		if f.Status != hcloud.FirewallStatusApplied {
			t.Errorf("firewall %d on server %d: status %s", f.Firewall.ID, id, f.Status)
		}
		ids = append(ids, f.Firewall.ID)
	}
	return ids
}

func appliedBySelector(t *testing.T, env *testEnv, fwID int64) []int64 {
	t.Helper()
	fw, _, err := env.client.Firewall.GetByID(context.Background(), fwID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, res := range fw.AppliedTo {
		for _, r := range res.AppliedToResources {
			ids = append(ids, r.Server.ID)
		}
	}
	return ids
}

func TestFirewallsByLabelSelector(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	_, all6, _ := net.ParseCIDR("::/0")

	manager := createServer(t, env, hcloud.ServerCreateOpts{Name: "runner-manager", Labels: map[string]string{"runner": ""}})
	other := createServer(t, env, hcloud.ServerCreateOpts{Name: "other"})

	res, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{
		Name:   "runner",
		Labels: map[string]string{"fleetctl.io/fleet": "gitlab-ci"},
		Rules: []hcloud.FirewallRule{
			{Description: hcloud.Ptr("allow icmp from everywhere"), Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolICMP, SourceIPs: []net.IPNet{*all, *all6}},
			{Description: hcloud.Ptr("allow ssh from everywhere"), Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, Port: hcloud.Ptr("22"), SourceIPs: []net.IPNet{*all, *all6}},
		},
		ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector, LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "runner"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 2 || res.Actions[0].Command != "set_firewall_rules" || res.Actions[1].Command != "apply_firewall" {
		t.Fatalf("create actions = %+v", res.Actions)
	}
	if err := env.client.Action.WaitFor(ctx, res.Actions...); err != nil {
		t.Fatal(err)
	}
	fw := res.Firewall
	if len(fw.Rules) != 2 || *fw.Rules[1].Port != "22" {
		t.Errorf("rules = %+v", fw.Rules)
	}
	if d := cmp.Diff([]int64{manager.ID}, appliedBySelector(t, env, fw.ID)); d != "" {
		t.Errorf("applied to (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{fw.ID}, firewallsOfServer(t, env, manager.ID)); d != "" {
		t.Errorf("manager's firewalls (-want +got):\n%s", d)
	}
	if got := firewallsOfServer(t, env, other.ID); len(got) != 0 {
		t.Errorf("other's firewalls = %v, want none", got)
	}

	// Labels change: the selector is evaluated again.
	if _, _, err := env.client.Server.Update(ctx, other, hcloud.ServerUpdateOpts{Labels: map[string]string{"runner": "yes"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{manager.ID, other.ID}, appliedBySelector(t, env, fw.ID)); d != "" {
		t.Errorf("after relabel (-want +got):\n%s", d)
	}
	third := createServer(t, env, hcloud.ServerCreateOpts{Name: "third", Labels: map[string]string{"runner": ""}})
	if d := cmp.Diff([]int64{fw.ID}, firewallsOfServer(t, env, third.ID)); d != "" {
		t.Errorf("new server's firewalls (-want +got):\n%s", d)
	}
	if _, _, err := env.client.Server.DeleteWithResult(ctx, third); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{manager.ID, other.ID}, appliedBySelector(t, env, fw.ID)); d != "" {
		t.Errorf("after delete (-want +got):\n%s", d)
	}

	// Direct application, errors, removal.
	actions, _, err := env.client.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: other.ID}}})
	if err != nil || len(actions) != 1 {
		t.Fatalf("apply to server: %v %v", actions, err)
	}
	_, _, err = env.client.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: other.ID}}})
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallAlreadyApplied)
	_, _, err = env.client.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: 1}}})
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallResourceNotFound)
	_, _, err = env.client.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector, LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "a in b"}}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
	if d := cmp.Diff([]int64{fw.ID}, firewallsOfServer(t, env, other.ID)); d != "" {
		t.Errorf("firewall applied twice shows twice (-want +got):\n%s", d)
	}

	_, err = env.client.Firewall.Delete(ctx, fw)
	mustErrorCode(t, err, hcloud.ErrorCodeResourceInUse)
	_, _, err = env.client.Firewall.RemoveResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: manager.ID}}})
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallManagedByLabelSelector)

	actions, _, err = env.client.Firewall.SetRules(ctx, fw, hcloud.FirewallSetRulesOpts{Rules: []hcloud.FirewallRule{
		{Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, Port: hcloud.Ptr("80-443"), SourceIPs: []net.IPNet{*all}},
	}})
	if err != nil || len(actions) == 0 {
		t.Fatalf("set rules: %v %v", actions, err)
	}
	_, _, err = env.client.Firewall.SetRules(ctx, fw, hcloud.FirewallSetRulesOpts{Rules: []hcloud.FirewallRule{
		{Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, SourceIPs: []net.IPNet{*all}},
	}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	_, _, err = env.client.Firewall.RemoveResources(ctx, fw, []hcloud.FirewallResource{
		{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: other.ID}},
		{Type: hcloud.FirewallResourceTypeLabelSelector, LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "runner"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = env.client.Firewall.RemoveResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: other.ID}}})
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallAlreadyRemoved)
	if got := firewallsOfServer(t, env, manager.ID); len(got) != 0 {
		t.Errorf("after removal: %v", got)
	}

	fw, _, err = env.client.Firewall.Update(ctx, fw, hcloud.FirewallUpdateOpts{Name: "web"})
	if err != nil || fw.Name != "web" {
		t.Fatalf("update: %v %v", fw, err)
	}
	if _, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "web"}); !hcloud.IsError(err, hcloud.ErrorCodeUniquenessError) {
		t.Errorf("duplicate firewall name: %v", err)
	}
	list, err := env.client.Firewall.AllWithOpts(ctx, hcloud.FirewallListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "fleetctl.io/fleet=gitlab-ci"}})
	if err != nil || len(list) != 1 {
		t.Errorf("list by label: %d %v", len(list), err)
	}
	fwActions, err := env.client.Firewall.Action.All(ctx, hcloud.ActionListOpts{})
	if err != nil || !slices.ContainsFunc(fwActions, func(a *hcloud.Action) bool { return a.Command == "remove_firewall" }) {
		t.Errorf("firewall actions: %v %v", fwActions, err)
	}
	if _, err := env.client.Firewall.Delete(ctx, fw); err != nil {
		t.Fatal(err)
	}
}

func TestServerCreateWithFirewall(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	res, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", Firewalls: []*hcloud.ServerCreateFirewall{{Firewall: *res.Firewall}}})
	if d := cmp.Diff([]int64{res.Firewall.ID}, firewallsOfServer(t, env, srv.ID)); d != "" {
		t.Errorf("firewalls (-want +got):\n%s", d)
	}
	fw, _, _ := env.client.Firewall.GetByID(ctx, res.Firewall.ID)
	if len(fw.AppliedTo) != 1 || fw.AppliedTo[0].Server.ID != srv.ID {
		t.Errorf("applied_to = %+v", fw.AppliedTo)
	}
}

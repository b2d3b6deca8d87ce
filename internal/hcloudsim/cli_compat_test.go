package hcloudsim

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// These tests drive the routes the way the official hcloud CLI does (the
// same hcloud-go calls its commands make) and assert what its output shows.

// tutorialRules are the two rules of the tutorial's
// `hcloud firewall create --name runner --rules-file rules.json`.
func tutorialRules() []hcloud.FirewallRule {
	anywhere := []net.IPNet{
		{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
		{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
	}
	port := "22"
	icmp, ssh := "allow icmp from everywhere", "allow ssh from everywhere"
	return []hcloud.FirewallRule{
		{Direction: hcloud.FirewallRuleDirectionIn, SourceIPs: anywhere, Protocol: hcloud.FirewallRuleProtocolICMP, Description: &icmp},
		{Direction: hcloud.FirewallRuleDirectionIn, SourceIPs: anywhere, Protocol: hcloud.FirewallRuleProtocolTCP, Port: &port, Description: &ssh},
	}
}

func actionCommands(actions []*hcloud.Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Command)
	}
	return out
}

// `hcloud firewall create --rules-file` waits for the actions of the answer;
// Hetzner answers set_firewall_rules for the rules (the tutorial prints
// "Waiting for set_firewall_rules"), then apply_firewall per apply_to.
func TestCLIFirewallCreateActions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name string
		opts hcloud.FirewallCreateOpts
		want []string
	}{
		{"rules", hcloud.FirewallCreateOpts{Name: "runner", Rules: tutorialRules()}, []string{"set_firewall_rules"}},
		{"rules and label selector", hcloud.FirewallCreateOpts{Name: "runner-2", Rules: tutorialRules(),
			ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector,
				LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "runner"}}}},
			[]string{"set_firewall_rules", "apply_firewall"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := env.client.Firewall.Create(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, actionCommands(res.Actions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			for _, a := range res.Actions {
				if len(a.Resources) == 0 || a.Resources[0].Type != hcloud.ActionResourceTypeFirewall || a.Resources[0].ID != res.Firewall.ID {
					t.Errorf("action %s resources = %+v, want the firewall %d first", a.Command, a.Resources, res.Firewall.ID)
				}
			}
			if err := env.client.Action.WaitFor(ctx, res.Actions...); err != nil {
				t.Fatal(err)
			}
			fw, _, err := env.client.Firewall.GetByID(ctx, res.Firewall.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(fw.Rules) != 2 {
				t.Errorf("rules = %d, want 2", len(fw.Rules))
			}
		})
	}
}

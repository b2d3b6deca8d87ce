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

func TestDefaultDNSPtr(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"203.0.113.1", "static.1.113.0.203.clients.your-server.de"},
		{"198.51.100.88", "static.88.100.51.198.clients.your-server.de"},
		{"2001:db8::1", ""},
		{"not-an-ip", ""},
	}
	for _, tt := range tests {
		if got := (&primaryIP{}).dnsPtr(tt.addr); got != tt.want {
			t.Errorf("default dns_ptr of %q = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// `hcloud all list`, `primary-ip list` and `server describe` show the IPv4's
// reverse DNS; Hetzner's default is the address reversed, as in-addr.arpa.
func TestCLIDefaultReverseDNS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "runner-manager"})
	ip := srv.PublicNet.IPv4.IP.To4()
	want := "static." + net.IPv4(ip[3], ip[2], ip[1], ip[0]).String() + ".clients.your-server.de"
	if got := srv.PublicNet.IPv4.DNSPtr; got != want {
		t.Errorf("server public_net.ipv4.dns_ptr = %q, want %q", got, want)
	}
	pip, _, err := env.client.PrimaryIP.GetByID(ctx, srv.PublicNet.IPv4.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{srv.PublicNet.IPv4.IP.String(): want}, pip.DNSPtr); diff != "" {
		t.Errorf("primary IP dns_ptr (-want +got):\n%s", diff)
	}
}

// `hcloud server set-rdns` posts /servers/{id}/actions/change_dns_ptr and
// waits for the action; `server describe` then shows the new name.
func TestCLIServerSetRDNS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "runner-manager"})
	v4 := srv.PublicNet.IPv4.IP.String()
	v6 := srv.PublicNet.IPv6.Network.IP.String() + "1"
	defaultV4 := srv.PublicNet.IPv4.DNSPtr

	change := func(ip string, ptr *string) {
		t.Helper()
		a, _, err := env.client.Server.ChangeDNSPtr(ctx, srv, ip, ptr)
		if err != nil {
			t.Fatalf("change_dns_ptr %s: %v", ip, err)
		}
		if a.Command != "change_dns_ptr" {
			t.Errorf("action command = %q, want change_dns_ptr", a.Command)
		}
		if err := env.client.Action.WaitFor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	get := func() *hcloud.Server {
		t.Helper()
		got, _, err := env.client.Server.GetByID(ctx, srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	change(v4, hcloud.Ptr("runner-manager.example.com"))
	change(v6, hcloud.Ptr("v6.example.com"))
	got := get()
	if got.PublicNet.IPv4.DNSPtr != "runner-manager.example.com" {
		t.Errorf("ipv4 dns_ptr = %q, want runner-manager.example.com", got.PublicNet.IPv4.DNSPtr)
	}
	if diff := cmp.Diff(map[string]string{v6: "v6.example.com"}, got.PublicNet.IPv6.DNSPtr); diff != "" {
		t.Errorf("ipv6 dns_ptr (-want +got):\n%s", diff)
	}

	change(v4, nil)
	change(v6, nil)
	got = get()
	if got.PublicNet.IPv4.DNSPtr != defaultV4 {
		t.Errorf("ipv4 dns_ptr after reset = %q, want the default %q", got.PublicNet.IPv4.DNSPtr, defaultV4)
	}
	if len(got.PublicNet.IPv6.DNSPtr) != 0 {
		t.Errorf("ipv6 dns_ptr after reset = %v, want none", got.PublicNet.IPv6.DNSPtr)
	}

	_, _, err := env.client.Server.ChangeDNSPtr(ctx, srv, "192.0.2.250", hcloud.Ptr("x.example.com"))
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
}

// `hcloud network delete` on a network with servers: the API detaches them
// (its reference: "Attached resources will be detached automatically").
func TestCLINetworkDeleteDetachesServers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	_, ipRange, _ := net.ParseCIDR("10.0.0.0/16")
	_, subRange, _ := net.ParseCIDR("10.0.1.0/24")
	nw, _, err := env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "net1", IPRange: ipRange,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: subRange}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", Networks: []*hcloud.Network{nw}})
	if len(srv.PrivateNet) != 1 {
		t.Fatalf("private nets = %d, want 1", len(srv.PrivateNet))
	}
	if _, err := env.client.Network.Delete(ctx, nw); err != nil {
		t.Fatalf("delete network with a server attached: %v", err)
	}
	got, _, err := env.client.Server.GetByID(ctx, srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.PrivateNet) != 0 {
		t.Errorf("server private nets after network delete = %+v, want none", got.PrivateNet)
	}
	if n, _, err := env.client.Network.GetByID(ctx, nw.ID); err != nil || n != nil {
		t.Errorf("network after delete = %v, %v; want not found", n, err)
	}
}

// `hcloud server add-to-placement-group` / `remove-from-placement-group`:
// only a stopped server may be added, and only to one group.
func TestCLIServerPlacementGroupActions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	pgRes, _, err := env.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "pg", Type: hcloud.PlacementGroupTypeSpread})
	if err != nil {
		t.Fatal(err)
	}
	pg := pgRes.PlacementGroup
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})

	_, _, err = env.client.Server.AddToPlacementGroup(ctx, srv, pg)
	mustErrorCode(t, err, hcloud.ErrorCodeServerNotStopped)

	wait := func(a *hcloud.Action, _ *hcloud.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := env.client.Action.WaitFor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	wait(env.client.Server.Poweroff(ctx, srv))
	wait(env.client.Server.AddToPlacementGroup(ctx, srv, pg))
	_, _, err = env.client.Server.AddToPlacementGroup(ctx, srv, pg)
	mustErrorCode(t, err, "already_in_placement_group")

	gotPG, _, err := env.client.PlacementGroup.GetByID(ctx, pg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{srv.ID}, gotPG.Servers); diff != "" {
		t.Errorf("placement group servers (-want +got):\n%s", diff)
	}
	got, _, err := env.client.Server.GetByID(ctx, srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PlacementGroup == nil || got.PlacementGroup.Name != "pg" {
		t.Errorf("server placement group = %+v, want pg", got.PlacementGroup)
	}

	wait(env.client.Server.RemoveFromPlacementGroup(ctx, srv))
	got, _, err = env.client.Server.GetByID(ctx, srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PlacementGroup != nil {
		t.Errorf("server placement group after removal = %+v, want none", got.PlacementGroup)
	}
}

// `hcloud server enable-backup` / `disable-backup`: the server's
// backup_window (BACKUP WINDOW column, "Backup Window:" of describe).
func TestCLIServerBackup(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	if srv.BackupWindow != "" {
		t.Fatalf("backup window of a new server = %q, want none", srv.BackupWindow)
	}
	for _, tt := range []struct {
		name    string
		call    func() (*hcloud.Action, *hcloud.Response, error)
		command string
		want    string
	}{
		{"enable", func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.EnableBackup(ctx, srv, "") }, "enable_backup", "22-02"},
		{"disable", func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.DisableBackup(ctx, srv) }, "disable_backup", ""},
	} {
		a, _, err := tt.call()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if a.Command != tt.command {
			t.Errorf("%s: action %q, want %q", tt.name, a.Command, tt.command)
		}
		if err := env.client.Action.WaitFor(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, _, err := env.client.Server.GetByID(ctx, srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.BackupWindow != tt.want {
			t.Errorf("%s: backup window = %q, want %q", tt.name, got.BackupWindow, tt.want)
		}
	}
}

// `hcloud server change-alias-ips` replaces the aliases of one network.
func TestCLIServerChangeAliasIPs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	_, ipRange, _ := net.ParseCIDR("10.0.0.0/16")
	_, subRange, _ := net.ParseCIDR("10.0.1.0/24")
	nw, _, err := env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "net1", IPRange: ipRange,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: subRange}}})
	if err != nil {
		t.Fatal(err)
	}
	a := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", Networks: []*hcloud.Network{nw}})
	b := createServer(t, env, hcloud.ServerCreateOpts{Name: "b"})

	change := func(srv *hcloud.Server, aliases ...string) error {
		var ips []net.IP
		for _, s := range aliases {
			ips = append(ips, net.ParseIP(s))
		}
		act, _, err := env.client.Server.ChangeAliasIPs(ctx, srv, hcloud.ServerChangeAliasIPsOpts{Network: nw, AliasIPs: ips})
		if err != nil {
			return err
		}
		return env.client.Action.WaitFor(ctx, act)
	}
	if err := change(a, "10.0.1.10", "10.0.1.11"); err != nil {
		t.Fatal(err)
	}
	got, _, err := env.client.Server.GetByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var aliases []string
	for _, ip := range got.PrivateNet[0].Aliases {
		aliases = append(aliases, ip.String())
	}
	if diff := cmp.Diff([]string{"10.0.1.10", "10.0.1.11"}, aliases); diff != "" {
		t.Errorf("alias IPs (-want +got):\n%s", diff)
	}

	mustErrorCode(t, change(a, "10.9.9.9"), hcloud.ErrorCodeInvalidInput)
	mustErrorCode(t, change(a, got.PrivateNet[0].IP.String()), hcloud.ErrorCodeIPNotAvailable)
	mustErrorCode(t, change(b, "10.0.1.20"), hcloud.ErrorCodeServerNotAttachedToNetwork)
}

// `hcloud firewall remove-from-resource --type server` for a server the
// firewall reaches only through its label selector: the API refuses with
// firewall_managed_by_label_selector; once applied directly too, removing the
// direct application works and the selector still applies.
func TestCLIFirewallRemoveServerManagedBySelector(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "runner-manager", Labels: map[string]string{"runner": ""}})
	res, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "runner", Rules: tutorialRules(),
		ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector,
			LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "runner"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, res.Actions...); err != nil {
		t.Fatal(err)
	}
	asServer := []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: srv.ID}}}

	_, _, err = env.client.Firewall.RemoveResources(ctx, res.Firewall, asServer)
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallManagedByLabelSelector)

	other := createServer(t, env, hcloud.ServerCreateOpts{Name: "other"})
	_, _, err = env.client.Firewall.RemoveResources(ctx, res.Firewall,
		[]hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: other.ID}}})
	mustErrorCode(t, err, hcloud.ErrorCodeFirewallAlreadyRemoved)

	actions, _, err := env.client.Firewall.ApplyResources(ctx, res.Firewall, asServer)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	actions, _, err = env.client.Firewall.RemoveResources(ctx, res.Firewall, asServer)
	if err != nil {
		t.Fatalf("remove the direct application: %v", err)
	}
	if err := env.client.Action.WaitFor(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	got, _, err := env.client.Server.GetByID(ctx, srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.PublicNet.Firewalls) != 1 || got.PublicNet.Firewalls[0].Firewall.ID != res.Firewall.ID {
		t.Errorf("server firewalls = %+v, want the selector's firewall %d still", got.PublicNet.Firewalls, res.Firewall.ID)
	}
}

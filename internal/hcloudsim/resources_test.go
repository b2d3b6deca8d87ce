package hcloudsim

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func TestPrimaryIPs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	res, _, err := env.client.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{
		Name: "pool-1", Type: hcloud.PrimaryIPTypeIPv4, AssigneeType: "server", Location: "hel1", Labels: map[string]string{"pool": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, res.Action); err != nil {
		t.Fatal(err)
	}
	ip := res.PrimaryIP
	if ip.AutoDelete || ip.AssigneeID != 0 || ip.Location.Name != "hel1" || ip.IP.To4() == nil {
		t.Errorf("created = %+v", ip)
	}
	_, _, err = env.client.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "pool-1", Type: hcloud.PrimaryIPTypeIPv4, AssigneeType: "server", Location: "hel1"})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = env.client.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "x", Type: "ipv5", AssigneeType: "server", Location: "hel1"})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	// A server created with it keeps it when deleted.
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: ip}})
	if !srv.PublicNet.IPv4.IP.Equal(ip.IP) || srv.PublicNet.IPv6.IsUnspecified() == false {
		t.Errorf("server public net = %+v, want the pool address and no IPv6", srv.PublicNet)
	}
	_, _, err = env.client.PrimaryIP.Unassign(ctx, ip.ID)
	mustErrorCode(t, err, hcloud.ErrorCodeServerNotStopped)
	a, _, _ := env.client.Server.Poweroff(ctx, srv)
	env.client.Action.WaitFor(ctx, a)
	a, _, err = env.client.PrimaryIP.Unassign(ctx, ip.ID)
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	got, _, _ := env.client.Server.GetByID(ctx, srv.ID)
	if !got.PublicNet.IPv4.IsUnspecified() {
		t.Errorf("after unassign: %+v", got.PublicNet.IPv4)
	}
	a, _, err = env.client.PrimaryIP.Assign(ctx, hcloud.PrimaryIPAssignOpts{ID: ip.ID, AssigneeType: "server", AssigneeID: srv.ID})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	a, _, err = env.client.PrimaryIP.ChangeProtection(ctx, hcloud.PrimaryIPChangeProtectionOpts{ID: ip.ID, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	_, err = env.client.PrimaryIP.Delete(ctx, ip)
	mustErrorCode(t, err, hcloud.ErrorCodeProtected)
	env.client.PrimaryIP.ChangeProtection(ctx, hcloud.PrimaryIPChangeProtectionOpts{ID: ip.ID, Delete: false})
	_, _, err = env.client.PrimaryIP.ChangeDNSPtr(ctx, hcloud.PrimaryIPChangeDNSPtrOpts{ID: ip.ID, IP: ip.IP.String(), DNSPtr: "runner.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	updated, _, err := env.client.PrimaryIP.Update(ctx, ip, hcloud.PrimaryIPUpdateOpts{Name: "pool-one", AutoDelete: hcloud.Ptr(false)})
	if err != nil || updated.Name != "pool-one" || updated.DNSPtr[ip.IP.String()] != "runner.example.com" {
		t.Errorf("update: %+v %v", updated, err)
	}
	if _, _, err := env.client.Server.DeleteWithResult(ctx, srv); err != nil {
		t.Fatal(err)
	}
	kept, _, err := env.client.PrimaryIP.GetByName(ctx, "pool-one")
	if err != nil || kept == nil || kept.AssigneeID != 0 {
		t.Errorf("primary IP not auto-deleted should stay, unassigned: %+v %v", kept, err)
	}
	bySelector, err := env.client.PrimaryIP.AllWithOpts(ctx, hcloud.PrimaryIPListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "pool=x"}})
	if err != nil || len(bySelector) != 1 {
		t.Errorf("by selector: %d %v", len(bySelector), err)
	}
	if _, err := env.client.PrimaryIP.Delete(ctx, kept); err != nil {
		t.Fatal(err)
	}
	actions, err := env.client.PrimaryIP.Action.All(ctx, hcloud.ActionListOpts{})
	if err != nil || len(actions) == 0 {
		t.Errorf("primary IP actions: %d %v", len(actions), err)
	}
}

func TestServerWithoutIPv4(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "v6", PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: false, EnableIPv6: true}})
	if !srv.PublicNet.IPv4.IsUnspecified() || srv.PublicNet.IPv6.IsUnspecified() {
		t.Errorf("public net = %+v, want IPv6 only", srv.PublicNet)
	}
}

func TestVolumes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	res, _, err := env.client.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "cache", Size: 10, Server: srv, Format: hcloud.Ptr("ext4"), Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...); err != nil {
		t.Fatal(err)
	}
	v, _, _ := env.client.Volume.GetByID(ctx, res.Volume.ID)
	if v.Status != hcloud.VolumeStatusAvailable || v.Server == nil || v.Server.ID != srv.ID || v.Location.Name != "hel1" || v.LinuxDevice == "" {
		t.Errorf("volume = %+v", v)
	}
	got, _, _ := env.client.Server.GetByID(ctx, srv.ID)
	if len(got.Volumes) != 1 || got.Volumes[0].ID != v.ID {
		t.Errorf("server volumes = %+v", got.Volumes)
	}
	_, err = env.client.Volume.Delete(ctx, v)
	mustErrorCode(t, err, hcloud.ErrorCodeResourceInUse)
	a, _, err := env.client.Volume.Detach(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	_, _, err = env.client.Volume.Detach(ctx, v)
	mustErrorCode(t, err, "volume_not_attached")
	a, _, err = env.client.Volume.Attach(ctx, v, srv)
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	_, _, err = env.client.Volume.Attach(ctx, v, srv)
	mustErrorCode(t, err, "volume_already_attached")
	if _, _, err = env.client.Volume.Resize(ctx, v, 20); err != nil {
		t.Fatal(err)
	}
	_, _, err = env.client.Volume.Resize(ctx, v, 5)
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
	a, _, _ = env.client.Volume.ChangeProtection(ctx, v, hcloud.VolumeChangeProtectionOpts{Delete: hcloud.Ptr(true)})
	env.client.Action.WaitFor(ctx, a)
	v, _, err = env.client.Volume.Update(ctx, v, hcloud.VolumeUpdateOpts{Name: "cache2"})
	if err != nil || v.Name != "cache2" || v.Size != 20 || !v.Protection.Delete {
		t.Errorf("update: %+v %v", v, err)
	}
	_, _, err = env.client.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "cache2", Size: 10, Location: &hcloud.Location{Name: "hel1"}})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = env.client.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "tiny", Size: 1, Location: &hcloud.Location{Name: "hel1"}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
	// Deleting the server detaches the volume.
	if _, _, err := env.client.Server.DeleteWithResult(ctx, srv); err != nil {
		t.Fatal(err)
	}
	v, _, _ = env.client.Volume.GetByID(ctx, v.ID)
	if v.Server != nil {
		t.Errorf("volume still attached to deleted server")
	}
	_, err = env.client.Volume.Delete(ctx, v)
	mustErrorCode(t, err, hcloud.ErrorCodeProtected)
	env.client.Volume.ChangeProtection(ctx, v, hcloud.VolumeChangeProtectionOpts{Delete: hcloud.Ptr(false)})
	if _, err := env.client.Volume.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	if list, err := env.client.Volume.AllWithOpts(ctx, hcloud.VolumeListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "k=v"}}); err != nil || len(list) != 0 {
		t.Errorf("volumes after delete: %d %v", len(list), err)
	}
	if actions, err := env.client.Volume.Action.All(ctx, hcloud.ActionListOpts{}); err != nil || len(actions) < 5 {
		t.Errorf("volume actions: %d %v", len(actions), err)
	}
}

func TestNetworks(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	_, ipRange, _ := net.ParseCIDR("10.0.0.0/16")
	_, subnet, _ := net.ParseCIDR("10.0.1.0/24")
	nw, _, err := env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "private", IPRange: ipRange,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, IPRange: subnet, NetworkZone: hcloud.NetworkZoneEUCentral}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "private", IPRange: ipRange})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, public, _ := net.ParseCIDR("8.8.0.0/16")
	_, _, err = env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "public", IPRange: public})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	a := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", Networks: []*hcloud.Network{nw}})
	b := createServer(t, env, hcloud.ServerCreateOpts{Name: "b"})
	act, _, err := env.client.Server.AttachToNetwork(ctx, b, hcloud.ServerAttachToNetworkOpts{Network: nw})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, act)
	_, _, err = env.client.Server.AttachToNetwork(ctx, b, hcloud.ServerAttachToNetworkOpts{Network: nw})
	mustErrorCode(t, err, hcloud.ErrorCodeServerAlreadyAttached)
	a, _, _ = env.client.Server.GetByID(ctx, a.ID)
	b, _, _ = env.client.Server.GetByID(ctx, b.ID)
	if d := cmp.Diff([]string{"10.0.1.2", "10.0.1.3"}, []string{a.PrivateNet[0].IP.String(), b.PrivateNet[0].IP.String()}); d != "" {
		t.Errorf("private IPs (-want +got):\n%s", d)
	}
	nw, _, _ = env.client.Network.GetByID(ctx, nw.ID)
	if len(nw.Servers) != 2 || nw.Subnets[0].Gateway.String() != "10.0.0.1" {
		t.Errorf("network = %+v", nw)
	}
	// Deleting a network with servers detaches them: TestCLINetworkDeleteDetachesServers.
	for _, s := range []*hcloud.Server{a, b} {
		act, _, err := env.client.Server.DetachFromNetwork(ctx, s, hcloud.ServerDetachFromNetworkOpts{Network: nw})
		if err != nil {
			t.Fatal(err)
		}
		env.client.Action.WaitFor(ctx, act)
	}
	_, _, err = env.client.Server.DetachFromNetwork(ctx, a, hcloud.ServerDetachFromNetworkOpts{Network: nw})
	mustErrorCode(t, err, hcloud.ErrorCodeServerNotAttachedToNetwork)

	_, sub2, _ := net.ParseCIDR("10.0.2.0/24")
	for _, op := range []func() (*hcloud.Action, *hcloud.Response, error){
		func() (*hcloud.Action, *hcloud.Response, error) {
			return env.client.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{Type: hcloud.NetworkSubnetTypeCloud, IPRange: sub2, NetworkZone: hcloud.NetworkZoneUSEast}})
		},
		func() (*hcloud.Action, *hcloud.Response, error) {
			_, dest, _ := net.ParseCIDR("10.100.1.0/24")
			return env.client.Network.AddRoute(ctx, nw, hcloud.NetworkAddRouteOpts{Route: hcloud.NetworkRoute{Destination: dest, Gateway: net.ParseIP("10.0.1.10")}})
		},
		func() (*hcloud.Action, *hcloud.Response, error) {
			_, dest, _ := net.ParseCIDR("10.100.1.0/24")
			return env.client.Network.DeleteRoute(ctx, nw, hcloud.NetworkDeleteRouteOpts{Route: hcloud.NetworkRoute{Destination: dest, Gateway: net.ParseIP("10.0.1.10")}})
		},
		func() (*hcloud.Action, *hcloud.Response, error) {
			return env.client.Network.DeleteSubnet(ctx, nw, hcloud.NetworkDeleteSubnetOpts{Subnet: hcloud.NetworkSubnet{IPRange: sub2}})
		},
		func() (*hcloud.Action, *hcloud.Response, error) {
			_, bigger, _ := net.ParseCIDR("10.0.0.0/8")
			return env.client.Network.ChangeIPRange(ctx, nw, hcloud.NetworkChangeIPRangeOpts{IPRange: bigger})
		},
		func() (*hcloud.Action, *hcloud.Response, error) {
			return env.client.Network.ChangeProtection(ctx, nw, hcloud.NetworkChangeProtectionOpts{Delete: hcloud.Ptr(true)})
		},
	} {
		act, _, err := op()
		if err != nil {
			t.Fatal(err)
		}
		env.client.Action.WaitFor(ctx, act)
	}
	_, err = env.client.Network.Delete(ctx, nw)
	mustErrorCode(t, err, hcloud.ErrorCodeProtected)
	env.client.Network.ChangeProtection(ctx, nw, hcloud.NetworkChangeProtectionOpts{Delete: hcloud.Ptr(false)})
	nw, _, err = env.client.Network.Update(ctx, nw, hcloud.NetworkUpdateOpts{Name: "private2", Labels: map[string]string{"a": "b"}})
	if err != nil || nw.Name != "private2" || nw.IPRange.String() != "10.0.0.0/8" || len(nw.Routes) != 0 || len(nw.Subnets) != 1 {
		t.Errorf("update: %+v %v", nw, err)
	}
	if list, err := env.client.Network.AllWithOpts(ctx, hcloud.NetworkListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "a=b"}}); err != nil || len(list) != 1 {
		t.Errorf("list: %d %v", len(list), err)
	}
	if actions, err := env.client.Network.Action.All(ctx, hcloud.ActionListOpts{}); err != nil || len(actions) < 6 {
		t.Errorf("network actions: %d %v", len(actions), err)
	}
	if _, err := env.client.Network.Delete(ctx, nw); err != nil {
		t.Fatal(err)
	}
}

func TestPlacementGroups(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	res, _, err := env.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "spread", Type: hcloud.PlacementGroupTypeSpread, Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	pg := res.PlacementGroup
	_, _, err = env.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "spread", Type: hcloud.PlacementGroupTypeSpread})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = env.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "x", Type: "pack"})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a", PlacementGroup: pg})
	if srv.PlacementGroup == nil || srv.PlacementGroup.ID != pg.ID {
		t.Errorf("server placement group = %+v", srv.PlacementGroup)
	}
	pg, _, _ = env.client.PlacementGroup.GetByID(ctx, pg.ID)
	if d := cmp.Diff([]int64{srv.ID}, pg.Servers); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	_, err = env.client.PlacementGroup.Delete(ctx, pg)
	mustErrorCode(t, err, hcloud.ErrorCodeResourceInUse)
	env.client.Server.DeleteWithResult(ctx, srv)
	pg, _, err = env.client.PlacementGroup.Update(ctx, pg, hcloud.PlacementGroupUpdateOpts{Name: "spread2"})
	if err != nil || pg.Name != "spread2" {
		t.Errorf("update: %+v %v", pg, err)
	}
	if list, err := env.client.PlacementGroup.AllWithOpts(ctx, hcloud.PlacementGroupListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "a=b"}}); err != nil || len(list) != 1 {
		t.Errorf("list: %d %v", len(list), err)
	}
	if _, err := env.client.PlacementGroup.Delete(ctx, pg); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyLists(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	checks := map[string]func() (int, error){
		"isos":           func() (int, error) { l, err := env.client.ISO.All(ctx); return len(l), err },
		"load_balancers": func() (int, error) { l, err := env.client.LoadBalancer.All(ctx); return len(l), err },
		"floating_ips":   func() (int, error) { l, err := env.client.FloatingIP.All(ctx); return len(l), err },
		"certificates":   func() (int, error) { l, err := env.client.Certificate.All(ctx); return len(l), err },
		"zones":          func() (int, error) { l, err := env.client.Zone.All(ctx); return len(l), err },
		"load_balancer_types": func() (int, error) {
			l, err := env.client.LoadBalancerType.All(ctx)
			return len(l), err
		},
	}
	for name, list := range checks {
		if n, err := list(); err != nil || n != 0 {
			t.Errorf("%s: %d, %v", name, n, err)
		}
	}
	_, _, err := env.client.FloatingIP.GetByID(ctx, 1)
	if err != nil {
		t.Errorf("floating IP 1: %v (hcloud-go maps 404 to nil, nil)", err)
	}
}

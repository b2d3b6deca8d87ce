package reconcile_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
)

// TestUpstreamPluginInstances: with a runner on the upstream plugin
// (hetznercloud/fleeting-plugin-hetzner), plan lists the servers that plugin
// created for the runner's instances — made here with plain hcloud-go calls
// as the plugin makes them — apply leaves them alone, and destroy removes
// them and the plugin's SSH key, nothing else.
func TestUpstreamPluginInstances(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.writeFleet(map[string]string{"plugin": "hetznercloud/fleeting-plugin-hetzner:latest"})
	e.mustApply()
	ctx := context.Background()

	const group = "runner-docker-autoscaler" // instances.name
	upstream := func(instanceGroup string) map[string]string {
		labels := map[string]string{"managed-by": "fleeting-plugin-hetzner"}
		if instanceGroup != "" {
			labels["instance-group"] = instanceGroup
		}
		return labels
	}
	// The plugin uploads its key under the group's name, labelled as its own.
	key, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: group, Labels: upstream(""),
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhdhBc0I3N3WbPRnlfaDRFFCgXPfpmnxXdtVVaKAK+P"})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "other-group", Labels: upstream(""),
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzQmxNnKOmpiOuC0VYTB1lrtbb8mmZAnpCmHRq1r6Ri"})
	if err != nil {
		t.Fatal(err)
	}
	// create may run on another goroutine (see racingCloud): no Fatal.
	create := func(name string, labels map[string]string) {
		if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cpx21"},
			Image: &hcloud.Image{Name: "debian-12"}, Labels: labels, SSHKeys: []*hcloud.SSHKey{key}}); err != nil {
			t.Errorf("create %s: %v", name, err)
		}
	}
	mine := []string{group + "-1a2b3c4d", group + "-deadbeef"}
	for _, name := range mine {
		create(name, upstream(group))
	}
	// Not the runner's: another group's, a user's server without the
	// plugin's label, one without an instance-group label that is not
	// named as the plugin names servers. (The plugin itself takes every
	// server labelled with its instance group for its own.)
	others := []string{"other-group-0badf00d", group + "-12345678", group + "-manual"}
	create(others[0], upstream("other-group"))
	create(others[1], map[string]string{"instance-group": group})
	create(others[2], upstream(""))

	e.sim.ResetStats()
	p := e.plan(false)
	if p.HasChanges() {
		t.Fatalf("plan changes something:\n%s", planText(t, p))
	}
	if stats := e.sim.Stats(); stats.Total != 5 { // 4 lists and the prices
		t.Errorf("plan sent %d requests, want 5: %v", stats.Total, stats.ByRoute)
	}
	var listed []string
	for _, in := range p.Instances {
		listed = append(listed, in.Name+" "+in.Runner+" "+in.ServerType)
	}
	want := []string{mine[0] + " hetzner-docker-autoscaler cpx21", mine[1] + " hetzner-docker-autoscaler cpx21"}
	if d := cmp.Diff(want, listed); d != "" {
		t.Errorf("instances (-want +got):\n%s", d)
	}
	if text := planText(t, p); !strings.Contains(text, "Autoscaled instances") || !strings.Contains(text, mine[1]) {
		t.Errorf("the human plan does not list the instances:\n%s", text)
	}

	e.writeFleet(map[string]string{"idle_count": "3"})
	e.mustApply()
	if got := serverNames(t, e); !containsAll(got, mine) {
		t.Fatalf("apply touched the plugin's instances: servers now %v", got)
	}

	// The plugin on the manager may still create an instance while
	// destroy deletes the servers it listed.
	late := group + "-feedf00d"
	s := e.session()
	s.Cloud = &racingCloud{Cloud: s.Cloud, race: func() { create(late, upstream(group)) }}
	res, err := s.Destroy(ctx, e.fleet)
	if err != nil {
		t.Fatalf("destroy: %v (did %v)", err, res)
	}
	var done []string
	for _, r := range res {
		done = append(done, r.String())
	}
	for _, w := range []string{"hcloud_server." + mine[0] + " destroyed", "hcloud_server." + mine[1] + " destroyed",
		"hcloud_server." + late + " destroyed", "hcloud_ssh_key." + group + " destroyed"} {
		if !containsAll(done, []string{w}) {
			t.Errorf("destroy results lack %q: %v", w, done)
		}
	}
	left := append([]string(nil), others...)
	sort.Strings(left)
	if d := cmp.Diff(left, serverNames(t, e)); d != "" {
		t.Errorf("servers after destroy (-want +got):\n%s", d)
	}
	keys, err := e.client.SSHKey.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != otherKey.ID {
		var names []string
		for _, k := range keys {
			names = append(names, k.Name)
		}
		t.Errorf("SSH keys after destroy: %v, want only other-group", names)
	}
}

// racingCloud runs race once, when the first server is deleted.
type racingCloud struct {
	reconcile.Cloud
	once sync.Once
	race func()
}

func (c *racingCloud) DeleteServer(ctx context.Context, id int64) (reconcile.CloudAction, error) {
	c.once.Do(c.race)
	return c.Cloud.DeleteServer(ctx, id)
}

func serverNames(t *testing.T, e *env) []string {
	t.Helper()
	srvs, err := e.client.Server.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srvs {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestUpstreamGroupOwns: which servers a runner's upstream instance group
// claims.
func TestUpstreamGroupOwns(t *testing.T) {
	t.Parallel()
	g := reconcile.UpstreamGroup{Runner: "docker", Name: "runner"}
	label := map[string]string{"managed-by": "fleeting-plugin-hetzner"}
	tests := []struct {
		name   string
		server reconcile.Server
		want   bool
	}{
		{name: "named and labelled by the plugin", server: reconcile.Server{Name: "runner-0a1b2c3d", Labels: label}, want: true},
		{name: "with its instance-group label", server: reconcile.Server{Name: "runner-0a1b2c3d", Labels: map[string]string{"managed-by": "fleeting-plugin-hetzner", "instance-group": "runner"}}, want: true},
		{name: "of another instance group", server: reconcile.Server{Name: "runner-0a1b2c3d", Labels: map[string]string{"managed-by": "fleeting-plugin-hetzner", "instance-group": "other"}}},
		{name: "of a group whose name starts with ours", server: reconcile.Server{Name: "runner-docker-0a1b2c3d", Labels: label}},
		{name: "of a group whose name starts with ours, by its label", server: reconcile.Server{Name: "runner-docker-0a1b2c3d", Labels: map[string]string{"managed-by": "fleeting-plugin-hetzner", "instance-group": "runner-docker"}}},
		{name: "longer suffix with its instance-group label", server: reconcile.Server{Name: "runner-0a1b2c3d4e5f", Labels: map[string]string{"managed-by": "fleeting-plugin-hetzner", "instance-group": "runner"}}, want: true},
		{name: "labelled as the group but named otherwise", server: reconcile.Server{Name: "other-0a1b2c3d", Labels: map[string]string{"managed-by": "fleeting-plugin-hetzner", "instance-group": "runner"}}},
		{name: "without the plugin's label", server: reconcile.Server{Name: "runner-0a1b2c3d"}},
		{name: "suffix not 8 hex digits", server: reconcile.Server{Name: "runner-0A1B2C3D", Labels: label}},
		{name: "no suffix", server: reconcile.Server{Name: "runner", Labels: label}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := g.Owns(tt.server); got != tt.want {
				t.Errorf("Owns(%s %v) = %v, want %v", tt.server.Name, tt.server.Labels, got, tt.want)
			}
		})
	}
}

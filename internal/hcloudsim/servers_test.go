package hcloudsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"
)

func newPublicKey(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

func mustErrorCode(t *testing.T, err error, code hcloud.ErrorCode) {
	t.Helper()
	if !hcloud.IsError(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func createServer(t *testing.T, env *testEnv, opts hcloud.ServerCreateOpts) *hcloud.Server {
	t.Helper()
	ctx := context.Background()
	if opts.ServerType == nil {
		opts.ServerType = &hcloud.ServerType{Name: "cpx22"}
	}
	if opts.Image == nil {
		opts.Image = &hcloud.Image{Name: "debian-12"}
	}
	if opts.Location == nil {
		opts.Location = &hcloud.Location{Name: "hel1"}
	}
	res, _, err := env.client.Server.Create(ctx, opts)
	if err != nil {
		t.Fatalf("create server %s: %v", opts.Name, err)
	}
	if err := env.client.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
		t.Fatalf("create server %s: wait: %v", opts.Name, err)
	}
	srv, _, err := env.client.Server.GetByID(ctx, res.Server.ID)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()

	key, _, err := env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: newPublicKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := env.client.Server.Create(ctx, hcloud.ServerCreateOpts{
		Name: "runner-manager", ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"},
		Location: &hcloud.Location{Name: "hel1"}, SSHKeys: []*hcloud.SSHKey{key}, Labels: map[string]string{"runner": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.RootPassword != "" {
		t.Errorf("root password %q with SSH keys given, want none", res.RootPassword)
	}
	if res.Server.Status != hcloud.ServerStatusInitializing || res.Action.Status != hcloud.ActionStatusRunning {
		t.Errorf("just created: server %s, action %s; want initializing, running", res.Server.Status, res.Action.Status)
	}
	if len(res.NextActions) != 1 || res.NextActions[0].Command != "start_server" {
		t.Fatalf("next actions = %+v, want start_server", res.NextActions)
	}
	if err := env.client.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
		t.Fatal(err)
	}
	srv, _, err := env.client.Server.GetByName(ctx, "runner-manager")
	if err != nil || srv == nil {
		t.Fatalf("get by name: %v %v", srv, err)
	}
	got := map[string]any{
		"status": string(srv.Status), "type": srv.ServerType.Name, "arch": string(srv.ServerType.Architecture),
		"image": srv.Image.Name, "image_arch": string(srv.Image.Architecture), "location": srv.Location.Name,
		"ipv4_set": !srv.PublicNet.IPv4.IsUnspecified(), "ipv6_set": !srv.PublicNet.IPv6.IsUnspecified(),
		"labels": srv.Labels,
	}
	want := map[string]any{
		"status": "running", "type": "cpx11", "arch": "x86", "image": "debian-12", "image_arch": "x86", "location": "hel1",
		"ipv4_set": true, "ipv6_set": true, "labels": map[string]string{"runner": ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("server (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(srv.PublicNet.IPv4.IP.String(), "203.0.113.") {
		t.Errorf("ipv4 = %s, want one of 203.0.113.0/24", srv.PublicNet.IPv4.IP)
	}
	ips, err := env.client.PrimaryIP.All(ctx)
	if err != nil || len(ips) != 2 || !ips[0].AutoDelete || ips[0].AssigneeID != srv.ID {
		t.Fatalf("primary IPs of a new server = %+v, %v; want 2 auto-deleted assigned to it", ips, err)
	}

	// change_type needs the server off.
	_, _, err = env.client.Server.ChangeType(ctx, srv, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cpx21"}})
	mustErrorCode(t, err, hcloud.ErrorCodeServerNotStopped)
	act, _, err := env.client.Server.Poweroff(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, act); err != nil {
		t.Fatal(err)
	}
	srv, _, _ = env.client.Server.GetByID(ctx, srv.ID)
	if srv.Status != hcloud.ServerStatusOff {
		t.Fatalf("after poweroff: %s, want off", srv.Status)
	}
	act, _, err = env.client.Server.ChangeType(ctx, srv, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cpx21"}, UpgradeDisk: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, act); err != nil {
		t.Fatal(err)
	}
	_, _, err = env.client.Server.ChangeType(ctx, srv, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cax11"}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
	act, _, err = env.client.Server.Poweron(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, act); err != nil {
		t.Fatal(err)
	}
	srv, _, _ = env.client.Server.GetByID(ctx, srv.ID)
	if srv.Status != hcloud.ServerStatusRunning || srv.ServerType.Name != "cpx21" || srv.PrimaryDiskSize != 40 {
		t.Errorf("after change_type and poweron: %s %s disk %d, want running cpx21 disk 40", srv.Status, srv.ServerType.Name, srv.PrimaryDiskSize)
	}

	for _, op := range []func() (*hcloud.Action, *hcloud.Response, error){
		func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.Reboot(ctx, srv) },
		func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.Reset(ctx, srv) },
		func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.Shutdown(ctx, srv) },
		func() (*hcloud.Action, *hcloud.Response, error) { return env.client.Server.Poweron(ctx, srv) },
	} {
		a, _, err := op()
		if err != nil {
			t.Fatal(err)
		}
		if err := env.client.Action.WaitFor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	// Protection.
	act, _, err = env.client.Server.ChangeProtection(ctx, srv, hcloud.ServerChangeProtectionOpts{Delete: hcloud.Ptr(true), Rebuild: hcloud.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, act)
	_, _, err = env.client.Server.DeleteWithResult(ctx, srv)
	mustErrorCode(t, err, hcloud.ErrorCodeProtected)
	_, _, err = env.client.Server.RebuildWithResult(ctx, srv, hcloud.ServerRebuildOpts{Image: &hcloud.Image{Name: "debian-13"}})
	mustErrorCode(t, err, hcloud.ErrorCodeProtected)
	act, _, err = env.client.Server.ChangeProtection(ctx, srv, hcloud.ServerChangeProtectionOpts{Delete: hcloud.Ptr(false), Rebuild: hcloud.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, act)
	rebuilt, _, err := env.client.Server.RebuildWithResult(ctx, srv, hcloud.ServerRebuildOpts{Image: &hcloud.Image{Name: "debian-13"}})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.RootPassword != "" {
		t.Errorf("rebuild with SSH keys gave a root password")
	}
	env.client.Action.WaitFor(ctx, rebuilt.Action)
	srv, _, _ = env.client.Server.GetByID(ctx, srv.ID)
	if srv.Image.Name != "debian-13" || srv.Status != hcloud.ServerStatusRunning {
		t.Errorf("after rebuild: image %s status %s", srv.Image.Name, srv.Status)
	}

	// Update name and labels.
	srv, _, err = env.client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Name: "manager", Labels: map[string]string{"role": "manager"}})
	if err != nil || srv.Name != "manager" || srv.Labels["role"] != "manager" {
		t.Fatalf("update: %+v %v", srv, err)
	}

	actions, err := env.client.Server.Action.All(ctx, hcloud.ActionListOpts{})
	if err != nil {
		t.Fatal(err)
	}
	var commands []string
	for _, a := range actions {
		commands = append(commands, a.Command)
	}
	if d := cmp.Diff([]string{"create_server", "start_server", "stop_server", "change_server_type", "start_server",
		"reboot_server", "reset_server", "shutdown_server", "start_server", "change_protection", "change_protection", "rebuild_server"}, commands); d != "" {
		t.Errorf("server actions (-want +got):\n%s", d)
	}
	mine, _, err := env.client.Server.Action.List(ctx, hcloud.ActionListOpts{ListOpts: hcloud.ListOpts{PerPage: 50}})
	if err != nil || len(mine) != len(actions) {
		t.Errorf("server actions list = %d, %v", len(mine), err)
	}

	result, _, err := env.client.Server.DeleteWithResult(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Action.WaitFor(ctx, result.Action); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := env.client.Server.GetByID(ctx, srv.ID); got != nil {
		t.Errorf("server still there after delete")
	}
	if ips, _ := env.client.PrimaryIP.All(ctx); len(ips) != 0 {
		t.Errorf("auto-deleted primary IPs still there: %d", len(ips))
	}
	_, _, err = env.client.Server.Poweron(ctx, srv)
	mustErrorCode(t, err, hcloud.ErrorCodeNotFound)
}

func TestServerCreateErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	createServer(t, env, hcloud.ServerCreateOpts{Name: "taken"})
	tests := []struct {
		name  string
		opts  hcloud.ServerCreateOpts
		code  hcloud.ErrorCode
		field string
	}{
		{"duplicate name", hcloud.ServerCreateOpts{Name: "taken"}, hcloud.ErrorCodeUniquenessError, ""},
		{"bad hostname", hcloud.ServerCreateOpts{Name: "not_a_hostname"}, hcloud.ErrorCodeInvalidInput, "name"},
		{"unknown server type", hcloud.ServerCreateOpts{Name: "a", ServerType: &hcloud.ServerType{Name: "cx99"}}, hcloud.ErrorCodeInvalidInput, "server_type"},
		{"unknown image", hcloud.ServerCreateOpts{Name: "a", Image: &hcloud.Image{Name: "windows-11"}}, hcloud.ErrorCodeInvalidInput, "image"},
		{"bad label", hcloud.ServerCreateOpts{Name: "a", Labels: map[string]string{"-bad": "x"}}, hcloud.ErrorCodeInvalidInput, "labels"},
		{"arm not in ash", hcloud.ServerCreateOpts{Name: "a", ServerType: &hcloud.ServerType{Name: "cax11"}, Location: &hcloud.Location{Name: "ash"}}, hcloud.ErrorCodeResourceUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.ServerType == nil {
				opts.ServerType = &hcloud.ServerType{Name: "cx23"}
			}
			if opts.Image == nil {
				opts.Image = &hcloud.Image{Name: "ubuntu-24.04"}
			}
			if opts.Location == nil {
				opts.Location = &hcloud.Location{Name: "fsn1"}
			}
			_, _, err := env.client.Server.Create(ctx, opts)
			mustErrorCode(t, err, tt.code)
			if tt.field != "" {
				var herr hcloud.Error
				herr, _ = err.(hcloud.Error)
				details, ok := herr.Details.(hcloud.ErrorDetailsInvalidInput)
				if !ok || len(details.Fields) == 0 || details.Fields[0].Name != tt.field {
					t.Errorf("details = %#v, want field %s", herr.Details, tt.field)
				}
			}
		})
	}
}

func TestPaginationAcrossManyServers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	const n = 123
	for i := range n {
		role := []string{"web", "db", "cache"}[i%3]
		if _, _, err := env.client.Server.Create(ctx, hcloud.ServerCreateOpts{
			Name: fmt.Sprintf("s%03d", i), ServerType: &hcloud.ServerType{Name: "cx23"}, Image: &hcloud.Image{Name: "debian-12"},
			Labels: map[string]string{"role": role, "n": fmt.Sprint(i % 2)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := env.client.Server.All(ctx)
	if err != nil || len(all) != n {
		t.Fatalf("all servers: %d, %v; want %d", len(all), err, n)
	}
	for i, s := range all {
		if want := fmt.Sprintf("s%03d", i); s.Name != want {
			t.Fatalf("servers[%d] = %s, want %s (ordered by id)", i, s.Name, want)
		}
	}
	page, resp, err := env.client.Server.List(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{Page: 3, PerPage: 50}})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Meta.Pagination
	if len(page) != 23 || p.Page != 3 || p.PerPage != 50 || p.PreviousPage != 2 || p.NextPage != 0 || p.LastPage != 3 || p.TotalEntries != n {
		t.Errorf("page 3: %d items, pagination %+v", len(page), p)
	}
	if link := resp.Header.Get("Link"); !strings.Contains(link, `page=2&per_page=50>; rel="prev"`) || !strings.Contains(link, `rel="last"`) {
		t.Errorf("Link = %s", link)
	}
	_, resp, _ = env.client.Server.List(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{PerPage: 500}})
	if resp.Meta.Pagination.PerPage != 50 {
		t.Errorf("per_page=500 gave %d, want capped at 50", resp.Meta.Pagination.PerPage)
	}
	_, resp, _ = env.client.Server.List(ctx, hcloud.ServerListOpts{})
	if resp.Meta.Pagination.PerPage != 25 || resp.Meta.Pagination.LastPage != 5 {
		t.Errorf("default page: %+v", resp.Meta.Pagination)
	}

	desc, _, err := env.client.Server.List(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{PerPage: 2}, Sort: []string{"name:desc"}})
	if err != nil || len(desc) != 2 || desc[0].Name != "s122" || desc[1].Name != "s121" {
		t.Errorf("sort=name:desc: %v %v", desc, err)
	}
	_, _, err = env.client.Server.List(ctx, hcloud.ServerListOpts{Sort: []string{"colour"}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	selectors := []struct {
		selector string
		want     int
	}{
		{"role=web", 41},
		{"role==db", 41},
		{"role!=web", 82},
		{"role", n},
		{"!role", 0},
		{"!missing", n},
		{"role in (web,db)", 82},
		{"role notin (web, db)", 41},
		{"role=web,n=0", 21},
		{"role in (cache),n!=1", 21},
	}
	for _, s := range selectors {
		got, err := env.client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: s.selector}})
		if err != nil || len(got) != s.want {
			t.Errorf("label_selector %q: %d servers, %v; want %d", s.selector, len(got), err, s.want)
		}
	}
	_, _, err = env.client.Server.List(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "role in web"}})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	off, err := env.client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{Status: []hcloud.ServerStatus{hcloud.ServerStatusOff}})
	if err != nil || len(off) != 0 {
		t.Errorf("status=off: %d, %v", len(off), err)
	}
	running, err := env.client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{Status: []hcloud.ServerStatus{hcloud.ServerStatusRunning}})
	if err != nil || len(running) != n {
		t.Errorf("status=running: %d, %v", len(running), err)
	}
}

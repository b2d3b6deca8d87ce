package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

// TestDestroyPlan: a destroy plan lists every resource of the fleet with a
// delete, needs neither the runner token nor the SSH key, goes stale when
// the fleet's resources change, stays valid while the plugin's instances
// come and go, and applied through Apply removes everything, the instances
// created since the plan included.
func TestDestroyPlan(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	ctx := context.Background()
	e.mustApply()
	instance := func(name string) {
		labels := map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleInstance, spec.LabelRunner: "hetzner-docker-autoscaler"}
		if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cpx21"},
			Image: &hcloud.Image{Name: "debian-12"}, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	instance("runner-docker-autoscaler-a1")

	// destroy needs the Hetzner token only.
	for _, secret := range []string{"runner-token", "id_ed25519"} {
		if err := os.Remove(filepath.Join(e.dir, secret)); err != nil {
			t.Fatal(err)
		}
	}
	s := e.session()
	p, err := s.PlanDestroy(ctx)
	if err != nil {
		t.Fatalf("plan --destroy: %v", err)
	}
	mustEqual(t, "destroy plan", []string{
		"hcloud_ssh_key.dev delete", "hcloud_firewall.runner delete",
		"hcloud_server.runner-docker-autoscaler-a1 delete", "hcloud_server.runner-manager delete",
	}, changed(p))
	text := planText(t, p)
	for _, want := range []string{
		`fleetctl listed every resource of fleet "e2e" to destroy it.`,
		"  # hcloud_server.runner-docker-autoscaler-a1 will be destroyed\n  # (the plugin's autoscaled instance of runner hetzner-docker-autoscaler)\n",
		"Plan: 0 to add, 0 to change, 4 to destroy.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("destroy plan lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(planJSON(t, p), `"mode": "destroy"`) {
		t.Errorf("the JSON plan does not mark its mode:\n%s", planJSON(t, p))
	}
	path := filepath.Join(t.TempDir(), "destroy.json")
	if err := reconcile.WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	saved, err := reconcile.ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Someone changes a resource of the fleet: the saved plan is stale.
	fw, _, _ := e.client.Firewall.GetByName(ctx, "runner")
	labels := map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleFirewall, "x": "y"}
	if _, _, err := e.client.Firewall.Update(ctx, fw, hcloud.FirewallUpdateOpts{Labels: labels}); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.PlanDestroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reconcile.CheckSaved(saved, fresh); !errors.Is(err, reconcile.ErrStalePlan) {
		t.Fatalf("stale destroy plan: CheckSaved = %v, want ErrStalePlan", err)
	}

	// Planned again, then the plugin scales: the plan holds.
	if err := reconcile.WritePlanFile(path, fresh); err != nil {
		t.Fatal(err)
	}
	if saved, err = reconcile.ReadPlanFile(path); err != nil {
		t.Fatal(err)
	}
	instance("runner-docker-autoscaler-b2")
	now, err := s.PlanDestroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reconcile.CheckSaved(saved, now); err != nil {
		t.Fatalf("a new instance made the destroy plan stale: %v", err)
	}
	if _, err := s.ApplyDestroy(ctx, saved, "wrong"); err == nil || !strings.Contains(err.Error(), "--confirm e2e") {
		t.Fatalf("ApplyDestroy without confirmation = %v", err)
	}
	if _, err := s.Apply(ctx, saved, true); err == nil {
		t.Fatal("a destroy plan applied as a normal plan")
	}
	res, err := s.ApplyDestroy(ctx, saved, e.fleet)
	if err != nil {
		t.Fatalf("destroy: %v (did %v)", err, res)
	}
	var done []string
	for _, r := range res {
		done = append(done, r.String())
	}
	mustEqual(t, "destroy results", []string{
		"hcloud_ssh_key.dev destroyed", "hcloud_firewall.runner destroyed",
		"hcloud_server.runner-docker-autoscaler-a1 destroyed", "hcloud_server.runner-docker-autoscaler-b2 destroyed",
		"hcloud_server.runner-manager destroyed",
	}, done)
	srvs, _ := e.client.Server.All(ctx)
	fws, _ := e.client.Firewall.All(ctx)
	keys, _ := e.client.SSHKey.All(ctx)
	if len(srvs)+len(fws)+len(keys) != 0 {
		t.Fatalf("left after destroy: %d servers, %d firewalls, %d keys", len(srvs), len(fws), len(keys))
	}
	if p, err := s.PlanDestroy(ctx); err != nil || p.HasChanges() || !strings.Contains(planText(t, p), "No changes. No objects need to be destroyed.") {
		t.Fatalf("destroy plan after destroy (%v):\n%s", err, planText(t, p))
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// TestPlanDestroyAndSavedDestroyPlans: plan --destroy shows and saves what
// destroy removes; destroy applies a saved destroy plan, refuses it once the
// fleet's resources changed, and refuses a normal plan, as apply refuses a
// destroy plan. None of it needs the runner token or the SSH key.
func TestPlanDestroyAndSavedDestroyPlans(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	fleet, client, bin := simFleet(t)
	ctx := context.Background()
	dir := t.TempDir()
	destroyPlan, normalPlan := filepath.Join(dir, "destroy.json"), filepath.Join(dir, "plan.json")
	if r := runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	labels := map[string]string{"fleetctl.io/fleet": "cli", "fleetctl.io/role": "instance", "fleetctl.io/runner": "hetzner-docker-autoscaler"}
	if _, _, err := client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "runner-docker-autoscaler-x1", ServerType: &hcloud.ServerType{Name: "cpx21"},
		Image: &hcloud.Image{Name: "debian-12"}, Labels: labels}); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "plan", "-f", fleet, "--destroy", "--out", destroyPlan)
	if r.code != 0 || !strings.Contains(r.stderr, "Saved the destroy plan to "+destroyPlan+": apply it with `fleetctl destroy -f "+fleet+" --confirm cli "+destroyPlan+"`.") {
		t.Fatalf("plan --destroy --out: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, destroyPlan); r.code != exitError || !strings.Contains(r.stderr, "it is a destroy plan") {
		t.Fatalf("apply took a destroy plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--out", normalPlan); r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "destroy", "-f", fleet, "--confirm", "cli", normalPlan); r.code != exitError || !strings.Contains(r.stderr, "not a destroy plan") {
		t.Fatalf("destroy took a normal plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// From here on neither the runner token nor the SSH key is at hand.
	for _, secret := range []string{"runner-token", "id_ed25519"} {
		if err := os.Remove(filepath.Join(filepath.Dir(fleet), secret)); err != nil {
			t.Fatal(err)
		}
	}
	r = runCLI(t, "plan", "-f", fleet, "--destroy", "--detailed-exitcode")
	noKnownSecrets(t, "plan --destroy", r.stdout, r.stderr)
	if r.code != exitChanges {
		t.Fatalf("plan --destroy --detailed-exitcode: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"fleetctl listed every resource of fleet \"cli\" to destroy it.\nResource actions are indicated with the following symbols:\n  - destroy\n",
		"  # hcloud_ssh_key.dev will be destroyed\n",
		"  # hcloud_firewall.runner will be destroyed\n",
		"  # hcloud_server.runner-docker-autoscaler-x1 will be destroyed\n  # (the plugin's autoscaled instance of runner hetzner-docker-autoscaler)\n",
		"  # hcloud_server.runner-manager will be destroyed\n",
		"      - protection  = true\n",
		"\nPlan: 0 to add, 0 to change, 4 to destroy.\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan --destroy lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Autoscaled instances") {
		t.Errorf("plan --destroy lists the instances apart:\n%s", r.stdout)
	}
	r = runCLI(t, "plan", "-f", fleet, "--destroy", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"mode": "destroy"`) || !strings.Contains(r.stdout, `"destroy": 4`) {
		t.Fatalf("plan --destroy -o json: exit %d\n%s", r.code, r.stdout)
	}

	// The firewall changes after the plan: the saved plan is refused.
	fw, _, _ := client.Firewall.GetByName(ctx, "runner")
	if _, _, err := client.Firewall.Update(ctx, fw, hcloud.FirewallUpdateOpts{Labels: map[string]string{"fleetctl.io/fleet": "cli", "fleetctl.io/role": "firewall", "x": "y"}}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "cli", destroyPlan)
	if r.code != exitError || !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "plan --destroy again") {
		t.Fatalf("stale destroy plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if srvs, _ := client.Server.All(ctx); len(srvs) != 2 {
		t.Fatalf("a refused destroy deleted servers: %d left", len(srvs))
	}

	if r := runCLI(t, "plan", "-f", fleet, "--destroy", "--out", destroyPlan); r.code != 0 {
		t.Fatalf("plan --destroy --out: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "cli", destroyPlan)
	noKnownSecrets(t, "destroy", r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("destroy PLANFILE: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := "\nPlan: 0 to add, 0 to change, 4 to destroy.\n\n" +
		"hcloud_ssh_key.dev destroyed\nhcloud_firewall.runner destroyed\n" +
		"hcloud_server.runner-docker-autoscaler-x1 destroyed\nhcloud_server.runner-manager destroyed\n" +
		"\nDestroy complete! Resources: 4 destroyed.\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("destroy's output does not end with\n%s\ngot:\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stderr, "hcloud_server.runner-manager: Destroying... [id=") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}

	r = runCLI(t, "plan", "-f", fleet, "--destroy", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes. No objects need to be destroyed.") {
		t.Fatalf("plan --destroy after destroy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "cli")
	if r.code != 0 || r.stdout != "\nNo changes. No objects need to be destroyed.\n\nDestroy complete! Resources: 0 destroyed.\n" {
		t.Fatalf("destroy of nothing: exit %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
}

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

const (
	cliHCloudToken = "hcloud-cli-plan-token-SECRET-1"
	cliRunnerToken = "glrt-cli-plan-runner-SECRET-2"
)

// simFleet starts a simulated project with SSH hosts and writes a
// fleet.yaml for it whose secrets are files; it returns the fleet.yaml's
// path, a client for making drift, and the --plugin-binary to use.
func simFleet(t *testing.T) (string, *hcloud.Client, string) {
	t.Helper()
	dir := t.TempDir()
	n, _ := rand.Int(rand.Reader, big.NewInt(20000))
	port := 30000 + int(n.Int64())
	sim := hcloudsim.New(hcloudsim.Options{SSH: true, SSHPort: port, StateDir: t.TempDir()})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	client := hcloud.NewClient(hcloud.WithEndpoint(srv.URL+"/v1"), hcloud.WithToken(cliHCloudToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(10 * time.Millisecond)}))
	requireSSH(t, client, port)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	sshPub, _ := ssh.NewPublicKey(pub)
	for name, content := range map[string]string{
		"id_ed25519": string(pem.EncodeToMemory(block)), "hcloud-token": cliHCloudToken, "runner-token": cliRunnerToken,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fleet := fmt.Sprintf(`version: 1
name: cli
hcloud:
  token: {file: %[1]s/hcloud-token}
  endpoint: %[2]s
ssh_keys:
  - {name: dev, public_key: "%[3]s"}
firewalls:
  - name: runner
    rules:
      - {description: allow ssh from everywhere, direction: in, protocol: tcp, port: "22", source_ips: [0.0.0.0/0, "::/0"]}
    apply_to: [{label_selector: runner}]
manager:
  name: runner-manager
  server_type: cpx11
  image: debian-12
  location: hel1
  ssh_keys: [dev]
  labels: {runner: ""}
  ssh: {private_key: {file: %[1]s/id_ed25519}, port: %[4]d}
gitlab_runner:
  concurrent: 10
  runners:
    - name: hetzner-docker-autoscaler
      url: https://gitlab.com
      token: {file: %[1]s/runner-token}
      docker: {image: "alpine:latest"}
      autoscaler:
        capacity_per_instance: 4
        max_instances: 5
        policy: [{periods: ["* * * * *"], idle_count: 8, idle_time: 1h}]
        instances: {name: runner-docker-autoscaler, location: hel1, server_type: cpx21, image: debian-12}
`, dir, srv.URL+"/v1", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), port)
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("true") // a small linux/amd64 executable stands in for fleetctl
	if err != nil {
		t.Fatal(err)
	}
	return path, client, bin
}

// requireSSH skips when this build's simulator runs no SSH hosts.
func requireSSH(t *testing.T, client *hcloud.Client, port int) {
	t.Helper()
	ctx := context.Background()
	res, _, err := client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "probe", ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}})
	if err != nil {
		t.Fatal(err)
	}
	client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...)
	defer client.Server.DeleteWithResult(ctx, res.Server)
	addr := net.JoinHostPort(res.Server.PublicNet.IPv4.IP.String(), fmt.Sprint(port))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Skip("the simulator's servers do not answer SSH in this build")
}

func noKnownSecrets(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range []string{cliHCloudToken, cliRunnerToken, "PRIVATE KEY"} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a secret %q:\n%s", what, s, text)
			}
		}
	}
}

func TestPlanApplyDestroyCommands(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	fleet, client, bin := simFleet(t)
	dir := t.TempDir()
	planFile, report := filepath.Join(dir, "plan.json"), filepath.Join(dir, "report.json")

	r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--detailed-exitcode", "--out", planFile, "--gitlab-report", report)
	noKnownSecrets(t, "plan", r.stdout, r.stderr)
	if r.code != exitChanges || !strings.Contains(r.stdout, "Plan: 6 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("colour on a pipe")
	}
	var counts map[string]int
	raw, _ := os.ReadFile(report)
	if err := json.Unmarshal(raw, &counts); err != nil || counts["create"] != 6 || counts["update"] != 0 || counts["delete"] != 0 || len(counts) != 3 {
		t.Errorf("gitlab report %s (%v)", raw, err)
	}
	saved, _ := os.ReadFile(planFile)
	noKnownSecrets(t, "plan file", string(saved))

	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	var jp struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jp); err != nil || r.code != 0 {
		t.Fatalf("plan -o json: exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	if jp.FormatVersion != planview.FormatVersion || len(jp.ResourceChanges) != 6 || jp.ResourceChanges[0].Change.Actions[0] != "create" {
		t.Errorf("plan -o json: %+v", jp)
	}

	r = runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, planFile)
	noKnownSecrets(t, "apply", r.stdout, r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! Resources: 6 added, 0 changed, 0 destroyed.") ||
		!strings.Contains(r.stdout, "hcloud_server.runner-manager created") || !strings.Contains(r.stderr, "Waiting for create_server") {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--detailed-exitcode", "--fail-on-not-compared")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes. Your infrastructure matches the configuration.") {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	notCompared(t, fleet, bin)
	hostKeyMismatch(t, fleet, bin, client)

	// A saved plan goes stale when the live state changes.
	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--out", planFile)
	fw, _, _ := client.Firewall.GetByName(context.Background(), "runner")
	if _, _, err := client.Firewall.Update(context.Background(), fw, hcloud.FirewallUpdateOpts{Labels: map[string]string{"fleetctl.io/fleet": "cli", "fleetctl.io/role": "firewall", "x": "y"}}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, planFile)
	if r.code != exitError || !strings.Contains(r.stderr, "stale") {
		t.Fatalf("stale plan applied: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if fw, _, _ = client.Firewall.GetByID(context.Background(), fw.ID); fw.Labels["x"] != "y" {
		t.Fatal("a refused apply changed the firewall")
	}

	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "other")
	if r.code != exitError || !strings.Contains(r.stderr, "--confirm cli") {
		t.Fatalf("destroy with a wrong confirmation: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "cli")
	if r.code != 0 || !strings.Contains(r.stdout, "Destroy complete! Resources: 3 destroyed.") {
		t.Fatalf("destroy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noKnownSecrets(t, "destroy", r.stdout, r.stderr)
}

// notCompared: without the manager's SSH key and the runner token nothing
// changes that could be compared; the summary says so, and a drift check's
// --fail-on-not-compared fails, with --detailed-exitcode too.
func notCompared(t *testing.T, fleet, bin string) {
	t.Helper()
	key := filepath.Join(filepath.Dir(fleet), "id_ed25519")
	saved, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(key)
	defer os.WriteFile(key, saved, 0o600)

	const summary = "No changes to what could be compared; 3 items were not compared (see above)."
	r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, summary) || strings.Contains(r.stdout, "matches the configuration") {
		t.Errorf("plan without the SSH key: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"--fail-on-not-compared"}, {"--fail-on-not-compared", "--detailed-exitcode"}, {"--fail-on-not-compared", "-o", "json"}} {
		r := runCLI(t, append([]string{"plan", "-f", fleet, "--plugin-binary", bin}, args...)...)
		noKnownSecrets(t, "plan", r.stdout, r.stderr)
		if r.code != exitError || !strings.Contains(r.stderr, "3 item(s) were not compared") {
			t.Errorf("plan %v without the SSH key: exit %d, want %d\n%s\n%s", args, r.code, exitError, r.stdout, r.stderr)
		}
	}
	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	var jp struct {
		Summary planview.Summary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jp); err != nil || jp.Summary.Complete || jp.Summary.NotCompared != 3 {
		t.Errorf("plan -o json without the SSH key: summary %+v (%v)\n%s", jp.Summary, err, r.stdout)
	}
}

// hostKeyMismatch: a manager whose host key label was changed to another
// fingerprint makes plan fail (exit 1, also with --detailed-exitcode), with
// a message naming the server and both fingerprints; no plan is printed.
func hostKeyMismatch(t *testing.T, fleet, bin string, client *hcloud.Client) {
	t.Helper()
	ctx := context.Background()
	srv, _, err := client.Server.GetByName(ctx, "runner-manager")
	if err != nil || srv == nil {
		t.Fatalf("manager: %v", err)
	}
	right := srv.Labels[reconcile.LabelSSHHostKey]
	const wrong = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	setLabel := func(v string) {
		t.Helper()
		labels := srv.Labels
		labels[reconcile.LabelSSHHostKey] = v
		if _, _, err := client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	setLabel(wrong)
	defer setLabel(right)
	for _, args := range [][]string{{"--detailed-exitcode"}, {"-o", "json"}} {
		r := runCLI(t, append([]string{"plan", "-f", fleet, "--plugin-binary", bin}, args...)...)
		noKnownSecrets(t, "plan", r.stdout, r.stderr)
		if r.code != exitError || r.stdout != "" {
			t.Errorf("plan %v with a wrong host key label: exit %d, want %d\n%s\n%s", args, r.code, exitError, r.stdout, r.stderr)
		}
		for _, want := range []string{"server runner-manager (id ", right, wrong, "man-in-the-middle"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("plan %v error lacks %q:\n%s", args, want, r.stderr)
			}
		}
	}
}

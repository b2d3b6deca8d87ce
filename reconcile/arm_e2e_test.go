package reconcile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/internal/testenv"
	"github.com/fleetctl/fleetctl/spec"
)

// TestArmManagerGetsTheArm64Binary: with --plugin-binary naming a release
// directory, a cax11 (Arm64) manager is planned and applied with the arm64
// build pushed, and planning it again shows nothing to do; a directory
// without that build says which file is missing and nothing is created.
func TestArmManagerGetsTheArm64Binary(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.writeFleet(map[string]string{"server_type": "cax11"})
	release := t.TempDir()
	e.pluginBinary = release
	testenv.WriteLinuxBinary(t, filepath.Join(release, "fleetctl-linux-amd64"), "amd64", "the amd64 build")

	p := e.plan(false)
	missing := filepath.Join(release, "fleetctl-linux-arm64") + " does not exist"
	if !strings.Contains(planText(t, p), missing) {
		t.Errorf("plan without the arm64 build does not say %q:\n%s", missing, planText(t, p))
	}
	if _, err := e.apply(false); err == nil {
		t.Error("apply without the arm64 build succeeded")
	}
	if servers, err := e.client.Server.All(t.Context()); err != nil || len(servers) != 0 {
		t.Errorf("apply without the arm64 build left %d servers (%v)", len(servers), err)
	}

	arm := filepath.Join(release, "fleetctl-linux-arm64")
	testenv.WriteLinuxBinary(t, arm, "arm64", "the arm64 build")
	want, err := os.ReadFile(arm)
	if err != nil {
		t.Fatal(err)
	}
	p = e.plan(false)
	mustEqual(t, "plan", []string{"hcloud_ssh_key.dev create", "hcloud_firewall.runner create", "hcloud_server.runner-manager create",
		"file.fleetctl_binary create", "file.fleet_yaml create", "file.config_toml create"}, changed(p))
	if len(p.NotCompared) != 0 {
		t.Errorf("plan with the arm64 build:\n%s", planText(t, p))
	}
	e.mustApply()
	if got := e.managerFile(spec.DefaultPluginPath); !bytes.Equal(got, want) {
		t.Errorf("the manager got %q, want the arm64 build", got)
	}
	servers, err := e.client.Server.All(t.Context())
	if err != nil || len(servers) != 1 || servers[0].ServerType.Name != "cax11" || servers[0].ServerType.Architecture != "arm" ||
		servers[0].Image == nil || servers[0].Image.Architecture != "arm" {
		t.Fatalf("servers after apply: %v (%v)", servers, err)
	}
	if p := e.plan(false); p.HasChanges() || len(p.NotCompared) != 0 {
		t.Errorf("plan after apply:\n%s", planText(t, p))
	}
}

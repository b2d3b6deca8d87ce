package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyPlanFileNamesTheFleetYAMLCompared: a plan saved from one
// fleet.yaml, applied without -f where another fleet.yaml lies, is refused
// saying which file it was compared with and that -f names the right one.
func TestApplyPlanFileNamesTheFleetYAMLCompared(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	ctx := context.Background()
	sim := startSimulator(t, simOptions{})
	f := newFleet(t, sim, nil)
	spec, _ := os.ReadFile(f.path)
	other := filepath.Join(f.dir, "prod.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(string(spec), "idle_count: 8", "idle_count: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(f.dir, "plan.json")
	cmd := exec.CommandContext(ctx, binaries.fleetctl, "plan", "-f", other, "--out", planFile)
	cmd.Env, cmd.Dir = f.environ(), f.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plan -f prod.yaml: %v\n%s", err, out)
	}
	cmd = exec.CommandContext(ctx, binaries.fleetctl, "apply", planFile)
	cmd.Env, cmd.Dir = f.environ(), f.dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a plan made from prod.yaml was applied against fleet.yaml:\n%s", out)
	}
	for _, want := range []string{"compared with " + f.path + ", the default without -f", "pass it with -f"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("apply PLANFILE without -f does not say %q:\n%s", want, out)
		}
	}
	f.checkNoSecrets(string(out))
}

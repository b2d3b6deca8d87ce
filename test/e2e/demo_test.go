package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs scripts/demo.sh — what `make demo` runs — with the binaries
// TestMain built, and checks that every step ran.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	t.Parallel()
	cmd := exec.Command(filepath.Join(binaries.root, "scripts", "demo.sh"))
	cmd.Dir = binaries.root
	cmd.Env = append(os.Environ(), "SKIP_BUILD=1", "BIN="+filepath.Dir(binaries.fleetctl), "GO="+binaries.goTool, "NO_COLOR=1",
		"TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"No changes. Your infrastructure matches the configuration.",
		`token = "***"`,
		"idle_count = 2",
		"instances: (none)",
		"Destroy complete! Resources: 3 destroyed.",
		"project: servers 0, SSH keys 0, firewalls 0, primary IPs 0, volumes 0",
		"Demo complete.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "skipped: fleetctl's plugin mode") {
		t.Errorf("the demo skipped the plugin:\n%s", text)
	}
}

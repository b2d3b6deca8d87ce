package reconcile_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// TestPlanDeepManagerFiles puts documents nested thousands deep on the
// manager, as a hostile or broken manager could hold them: config.toml
// nested 10,001 arrays deep (plan panicked "exceeded max depth"), the
// fleet.yaml copy nested 2,000 and 9,000 deep (plan took 39 s and 10
// minutes). plan shows each as unreadable, too deep, at once and in little
// memory, and apply replaces it.
func TestPlanDeepManagerFiles(t *testing.T) {
	requireSSHHosts(t)
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	root := filepath.Join(e.stateDir, "servers", "runner-manager")

	for _, tc := range []struct {
		name, path, addr, content string
	}{
		{"config.toml 10001 arrays deep", "etc/gitlab-runner/config.toml", "file.config_toml",
			"concurrent = 10\nx = " + strings.Repeat("[", 10001) + "1" + strings.Repeat("]", 10001) + "\n"},
		{"fleet.yaml 2000 deep in brackets", "etc/fleetctl/fleet.yaml", "file.fleet_yaml",
			"version: 1\nx: " + strings.Repeat("[", 2000) + "1" + strings.Repeat("]", 2000) + "\n"},
		{"fleet.yaml 9000 deep in brackets", "etc/fleetctl/fleet.yaml", "file.fleet_yaml",
			"version: 1\nx: " + strings.Repeat("{a: ", 9000) + "1" + strings.Repeat("}", 9000) + "\n"},
		{"fleet.yaml 9000 deep in block sequences", "etc/fleetctl/fleet.yaml", "file.fleet_yaml",
			"version: 1\nx:\n" + strings.Repeat("- ", 9000) + "1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(root, tc.path), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			p := e.plan(false)
			text, json := planText(t, p), planJSON(t, p)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("plan and its rendering: %v, %d MiB allocated, %d bytes of text, %d of JSON",
				took, (after.TotalAlloc-before.TotalAlloc)>>20, len(text), len(json))

			mustEqual(t, "changes", []string{tc.addr + " update"}, changed(p))
			if !strings.Contains(text, "(unreadable: too deep)") || !strings.Contains(json, "(unreadable: too deep)") {
				t.Errorf("plan does not say the file is too deep:\n%s", text)
			}
			if len(text) > 64<<10 {
				t.Errorf("plan text is %d bytes", len(text))
			}

			e.mustApply()
			if got := string(e.managerFile(tc.path)); strings.Contains(got, "[[[[") || strings.Contains(got, "- - - -") || strings.Contains(got, "{a: {a:") {
				t.Errorf("apply left the deep file in place")
			}
			if p := e.plan(false); p.HasChanges() {
				t.Errorf("plan after apply is not clean:\n%s", planText(t, p))
			}
		})
	}
}

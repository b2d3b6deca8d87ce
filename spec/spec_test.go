package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tutorialUserData is the user_data of the tutorial's config.toml, byte for
// byte: $KEY_FILE and $RELEASE are cloud-init's, not ours to expand.
const tutorialUserData = `#cloud-config
package_update: true
package_upgrade: true

apt:
  sources:
    docker.list:
      source: deb [signed-by=$KEY_FILE] https://download.docker.com/linux/debian $RELEASE stable
      keyid: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88

packages:
  - ca-certificates
  - docker-ce

swap:
  filename: /var/swap.bin
  size: auto
  maxsize: 4294967296 # 4GB
`

func TestTutorialExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, plugin string
		fleetctl     bool
	}{
		{"../examples/tutorial/fleet.yaml", "fleetctl", true},
		{"../examples/tutorial/fleet.upstream-plugin.yaml", "hetznercloud/fleeting-plugin-hetzner:latest", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, err := Load(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := f.Runner("hetzner-docker-autoscaler")
			if !ok {
				t.Fatal("runner hetzner-docker-autoscaler not found")
			}
			a := r.Autoscaler
			if a.Plugin != tc.plugin || a.UsesFleetctlPlugin() != tc.fleetctl {
				t.Errorf("plugin = %q (fleetctl %v), want %q (%v)", a.Plugin, a.UsesFleetctlPlugin(), tc.plugin, tc.fleetctl)
			}
			if d := cmp.Diff(tutorialUserData, a.Instances.UserData); d != "" {
				t.Errorf("user_data differs from the tutorial (-want +got):\n%s", d)
			}
			if a.MaxUseCount == nil || *a.MaxUseCount != 0 {
				t.Errorf("max_use_count = %v, want a written 0", a.MaxUseCount)
			}
			want := Policy{Periods: []string{"* * * * *"}, Timezone: "Europe/Berlin", IdleCount: 8, IdleTime: "1h"}
			if d := cmp.Diff([]Policy{want}, a.Policy); d != "" {
				t.Errorf("policy (-want +got):\n%s", d)
			}
			if got, want := f.Pos("gitlab_runner.runners[0].autoscaler.policy[0].idle_time"), (Pos{Line: 70, Col: 24}); got != want && got.Line == 0 {
				t.Errorf("Pos(idle_time) = %v", got)
			}
		})
	}
}

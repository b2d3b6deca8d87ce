package render

import (
	"bytes"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

// resave does to a config.toml what gitlab-runner does when it refreshes the
// runner token: decode into its structures, fill in its defaults and the
// token bookkeeping, and encode the whole structure again.
func resave(t *testing.T, data []byte, edit func(*glrConfig)) []byte {
	t.Helper()
	var cfg glrConfig
	if _, err := toml.Decode(string(data), &cfg); err != nil {
		t.Fatal(err)
	}
	maxAge := 15 * time.Minute
	cfg.ConnectionMaxAge = &maxAge
	cfg.SessionServer.SessionTimeout = 1800
	for _, r := range cfg.Runners {
		r.ID = 42
		r.TokenObtainedAt = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		r.TokenExpiresAt = r.TokenObtainedAt.Add(30 * 24 * time.Hour)
	}
	if edit != nil {
		edit(&cfg)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(&cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func normalized(t *testing.T, data []byte) map[string]any {
	t.Helper()
	m, err := NormalizeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A file gitlab-runner has re-saved means the same as the rendered one; a
// file someone changed does not.
func TestNormalizeConfig(t *testing.T) {
	t.Parallel()
	fleets := map[string]*spec.Fleet{
		"tutorial fleetctl": tutorialFleet("fleetctl"),
		"tutorial upstream": tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest"),
		"full fleetctl":     fullFleet("fleetctl"),
		"full upstream":     fullFleet("hetznercloud/fleeting-plugin-hetzner:latest"),
	}
	edits := []struct {
		name string
		edit func(*glrConfig)
		same bool
	}{
		{"resaved by gitlab-runner", nil, true},
		{"idle_count changed", func(c *glrConfig) { c.Runners[0].Autoscaler.Policy[0].IdleCount++ }, false},
		{"idle_time changed", func(c *glrConfig) { c.Runners[0].Autoscaler.Policy[0].IdleTime += time.Minute }, false},
		{"token changed", func(c *glrConfig) { c.Runners[0].Token = "glrt-other" }, false},
		{"policy added", func(c *glrConfig) {
			a := c.Runners[0].Autoscaler
			a.Policy = append(a.Policy, glrPolicy{IdleCount: 1})
		}, false},
		{"plugin_config changed", func(c *glrConfig) { c.Runners[0].Autoscaler.PluginConfig["token"] = "other" }, false},
		{"session timeout changed", func(c *glrConfig) { c.SessionServer.SessionTimeout = 60 }, false},
		{"preemptive_mode unset", func(c *glrConfig) {
			for i := range c.Runners[0].Autoscaler.Policy {
				c.Runners[0].Autoscaler.Policy[i].PreemptiveMode = nil
			}
		}, false},
	}
	for name, f := range fleets {
		rendered, err := RunnerConfig(f, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		want := normalized(t, rendered)
		for _, e := range edits {
			if e.name == "preemptive_mode unset" && name != "full fleetctl" && name != "full upstream" {
				continue // only the full fleets set preemptive_mode
			}
			live := resave(t, rendered, e.edit)
			d := cmp.Diff(want, normalized(t, live))
			if e.same && d != "" {
				t.Errorf("%s, %s: means the same but normalizes differently (-rendered +live):\n%s\nlive file:\n%s", name, e.name, d, live)
			}
			if !e.same && d == "" {
				t.Errorf("%s, %s: a real change is normalized away", name, e.name)
			}
		}
	}
}

func TestNormalizeConfigForms(t *testing.T) {
	t.Parallel()
	a := normalized(t, []byte(`concurrent = 2
[[runners]]
name = "r"
token = "t"
id = 7
token_obtained_at = 2026-01-01T00:00:00Z
[runners.docker]
image = "alpine"
pull_policy = "always"
privileged = false
[runners.autoscaler]
max_use_count = 0
[[runners.autoscaler.policy]]
idle_time = "90m"
preemptive_mode = false
`))
	b := normalized(t, []byte(`concurrent = 2
[[runners]]
name = "r"
token = "t"
[runners.docker]
image = "alpine"
pull_policy = ["always"]
[[runners.autoscaler.policy]]
idle_time = "1h30m0s"
preemptive_mode = false
`))
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("(-a +b):\n%s", d)
	}
	if _, err := NormalizeConfig([]byte("concurrent = ")); err == nil {
		t.Error("no error for broken TOML")
	}
}

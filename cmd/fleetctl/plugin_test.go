package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginCommand(t *testing.T) {
	r := runCLI(t, "plugin")
	if r.code != exitOK || !strings.Contains(r.stdout, "FLEETING_INSTANCE_GROUP_PLUGIN") || !strings.Contains(r.stdout, `plugin = "/usr/local/bin/fleetctl"`) {
		t.Errorf("fleetctl plugin: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestPluginCheck(t *testing.T) {
	setTokens(t)
	broken := filepath.Join(t.TempDir(), "fleet.yaml")
	raw, err := os.ReadFile(tutorialExample)
	if err != nil {
		t.Fatal(err)
	}
	// An ownership label among the instances' labels: only the plugin
	// check knows these are set by fleetctl itself.
	text := strings.Replace(string(raw), "          image: debian-12\n", "          image: debian-12\n          labels: {fleetctl.io/runner: other}\n", 1)
	if text == string(raw) {
		t.Fatal("could not edit the example")
	}
	if err := os.WriteFile(broken, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "valid",
			args:       []string{"plugin", "--check", "-f", tutorialExample, "--runner", "hetzner-docker-autoscaler"},
			wantCode:   exitOK,
			wantStdout: "runner hetzner-docker-autoscaler of fleet gitlab-ci: plugin settings are valid",
		},
		{
			name:       "unknown runner",
			args:       []string{"plugin", "--check", "-f", tutorialExample, "--runner", "nope"},
			wantCode:   exitError,
			wantStderr: `no runner named "nope" under gitlab_runner.runners (have: hetzner-docker-autoscaler)`,
		},
		{
			name:       "runner missing",
			args:       []string{"plugin", "--check", "-f", tutorialExample},
			wantCode:   exitError,
			wantStderr: "--runner is required",
		},
		{
			name:       "upstream plugin runner",
			args:       []string{"plugin", "--check", "-f", upstreamExample, "--runner", "hetzner-docker-autoscaler"},
			wantCode:   exitError,
			wantStderr: "autoscaler.plugin: is \"hetznercloud/fleeting-plugin-hetzner",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantStdout) || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout to mention %q and stderr %q", r.code, tt.wantCode, r.stdout, r.stderr, tt.wantStdout, tt.wantStderr)
			}
			noSecrets(t, r)
		})
	}

	r := runCLI(t, "plugin", "--check", "-f", broken, "--runner", "hetzner-docker-autoscaler")
	if r.code != exitError || !strings.Contains(r.stderr, broken+":") || !strings.Contains(r.stderr, "fleetctl.io/runner") {
		t.Errorf("ownership label among instance labels: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	noSecrets(t, r)
}

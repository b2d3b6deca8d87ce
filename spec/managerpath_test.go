package spec

import (
	"regexp"
	"strings"
	"testing"
)

// TestSpecPath checks that only files of fleetctl's own in /etc/fleetctl
// are accepted as manager.spec_path, whatever the spelling of the others,
// and that the JSON Schema's pattern agrees with validate.
func TestSpecPath(t *testing.T) {
	t.Parallel()
	pattern := regexp.MustCompile(specPathPattern)
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/etc/fleetctl/fleet.yaml", true},
		{"/etc/fleetctl/prod.yml", true},
		{"/etc/fleetctl/ci-fleet.v2.yaml", true},
		{"/usr/local/bin/fleetctl", false},
		{"/etc/passwd", false},
		{"/root/.ssh/authorized_keys", false},
		{"/etc/gitlab-runner/config.toml", false},
		{"/etc/gitlab-runner", false},
		{"/etc/fleetctl", false},
		{"/etc/fleetctl/", false},
		{"/etc/fleetctl/fleet.yaml/", false},
		{"/etc/fleetctl/../passwd", false},
		{"/etc/fleetctl/./fleet.yaml", false},
		{"/etc/fleetctl//fleet.yaml", false},
		{"//etc/fleetctl/fleet.yaml", false},
		{"./fleet.yaml", false},
		{"fleet.yaml", false},
		{"/etc/fleetctl/sub/fleet.yaml", false},
		{"/etc/fleetctl/.fleet.yaml.tmp-0a1b", false},
		{"/etc/fleetctl/fleet", false},
		{"/etc/fleetctl/fleet.yaml\n", false},
		{"/var/lib/fleetctl/fleetctl.sha256", false},
	} {
		c := &checker{f: &Fleet{}}
		c.specPath(tc.path)
		if got := len(c.problems) == 0; got != tc.ok {
			t.Errorf("spec_path %q: accepted = %v, want %v (%v)", tc.path, got, tc.ok, c.problems)
		}
		if got := pattern.MatchString(tc.path); got != tc.ok {
			t.Errorf("spec_path %q: schema pattern matches = %v, want %v", tc.path, got, tc.ok)
		}
		for _, p := range c.problems {
			if !strings.Contains(p.Message, "directly in /etc/fleetctl") {
				t.Errorf("spec_path %q: message does not say what is allowed: %s", tc.path, p.Message)
			}
		}
	}
}

// TestManagerPath checks the paths gitlab-runner reads or writes on the
// manager: any absolute, clean path of their own.
func TestManagerPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/etc/gitlab-runner/instance_ed25519", true},
		{"/var/lib/gitlab-runner/state", true},
		{"/srv/runner/key", true},
		{"/etc/gitlab-runner/config.toml", false},
		{"/etc/gitlab-runner", false},
		{"/usr/local/bin/fleetctl", false},
		{"/etc/fleetctl/fleet.yaml", false},
		{"/etc/fleetctl/key", false},
		{"/etc/fleetctl", false},
		{"/", false},
		{"/etc", false},
		{"/proc/self", false},
		{"/root/.ssh/id_ed25519", false},
		{"/var/lib/gitlab-runner/state/", false},
		{"/var/lib/../gitlab-runner", false},
		{"relative/key", false},
	} {
		c := &checker{f: &Fleet{}}
		c.managerPath("key_path", tc.path, "/etc/gitlab-runner/instance_ed25519")
		if got := len(c.problems) == 0; got != tc.ok {
			t.Errorf("%q: accepted = %v, want %v (%v)", tc.path, got, tc.ok, c.problems)
		}
	}
}

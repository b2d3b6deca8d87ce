package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// rateLimitedFleet starts a simulator allowing limit requests an hour,
// spends them all, and writes a fleet.yaml for it.
func rateLimitedFleet(t *testing.T, limit int) string {
	t.Helper()
	sim := hcloudsim.New(hcloudsim.Options{RateLimit: limit})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	// Sent until a 429, so that what refilled meanwhile is spent too.
	for i := 0; ; i++ {
		r := httptest.NewRequest("GET", "/v1/locations", nil)
		r.Header.Set("Authorization", "Bearer "+cliHCloudToken)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, r)
		if w.Code == http.StatusTooManyRequests {
			break
		}
		if i > 2*limit {
			t.Fatalf("the simulator answered %d requests without a 429", i)
		}
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"hcloud-token": cliHCloudToken, "runner-token": cliRunnerToken} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fleet := fmt.Sprintf(`version: 1
name: limited
hcloud:
  token: {file: %[1]s/hcloud-token}
  endpoint: %[2]s
manager:
  name: runner-manager
  server_type: cpx11
  image: debian-12
  location: hel1
gitlab_runner:
  concurrent: 1
  runners:
    - name: docker
      url: https://gitlab.com
      token: {file: %[1]s/runner-token}
      autoscaler:
        capacity_per_instance: 1
        max_instances: 1
        instances: {name: limited-docker, location: hel1, server_type: cpx21, image: debian-12}
`, dir, srv.URL+"/v1")
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlanWaitsForRateLimit: with the hourly budget spent (3600 an hour:
// one request back each second), plan waits, says on stderr until when,
// and succeeds.
func TestPlanWaitsForRateLimit(t *testing.T) {
	t.Parallel()
	fleet := rateLimitedFleet(t, 3600)
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--detailed-exitcode")
	noKnownSecrets(t, "plan", r.stdout, r.stderr)
	if r.code != exitChanges || !strings.Contains(r.stdout, "to add") {
		t.Fatalf("plan under a spent rate limit: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`GET /v1/\S+: rate limited by the Hetzner API, waiting until \d\d:\d\d:\d\d \(RateLimit-Reset \d\d:\d\d:\d\d\)`).MatchString(r.stderr) {
		t.Errorf("plan did not say it waits for the rate limit:\n%s", r.stderr)
	}
}

// TestPlanRateLimitedBeyondMaximum: when the next request is allowed only
// after the maximum wait (1 an hour), plan fails at once, exit 1, saying
// until when — not "context deadline exceeded".
func TestPlanRateLimitedBeyondMaximum(t *testing.T) {
	t.Parallel()
	fleet := rateLimitedFleet(t, 1)
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--detailed-exitcode")
	noKnownSecrets(t, "plan", r.stdout, r.stderr)
	if r.code != exitError || !strings.Contains(r.stderr, "rate limited until ") || !strings.Contains(r.stderr, "longer than the maximum wait of 5m0s") {
		t.Fatalf("plan with the next request an hour away: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "deadline exceeded") {
		t.Errorf("the error hides the rate limit:\n%s", r.stderr)
	}
}

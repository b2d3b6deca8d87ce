package plugin

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// TestClientLogsWaits: the plugin's waits before a retry reach its logger,
// saying until when, and the request then succeeds.
func TestClientLogsWaits(t *testing.T) {
	t.Parallel()
	sim := hcloudsim.New(hcloudsim.Options{})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	for _, f := range []hcloudsim.Fault{
		{Method: "GET", Path: "/v1/locations", Status: 429},
		{Method: "GET", Path: "/v1/server_types", Status: 503},
	} {
		if err := sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
	client := newClient("t", srv.URL+"/v1", log, nil, hcloudclient.Policy{MinRateLimitWait: 10 * time.Millisecond, Backoff: time.Millisecond})
	ctx := context.Background()
	if _, err := client.Location.All(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ServerType.All(ctx); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"rate limited by the Hetzner API, waiting: method=GET path=/v1/locations until=",
		"Hetzner API request failed, retrying: method=GET path=/v1/server_types until=",
		`status="503 Service Unavailable" attempt=1 max_attempts=10`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

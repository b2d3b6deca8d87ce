package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiFaults are the faults armed in turn, one per four API requests: the
// rate limit, server errors, and connections dropped before the request is
// handled or after (the change made, its answer lost).
var apiFaults = []fault{
	{Path: "/v1/*", Status: http.StatusTooManyRequests},
	{Path: "/v1/*", Status: http.StatusServiceUnavailable},
	{Path: "/v1/*", Drop: "response"},
	{Path: "/v1/*", Status: http.StatusInternalServerError},
	{Path: "/v1/*", Drop: "request"},
	{Path: "/v1/*", Status: http.StatusTooManyRequests},
	{Path: "/v1/*", Status: http.StatusBadGateway},
	{Path: "/v1/*", Drop: "response"},
}

// faultCounts are the faults one run of fleetctl met, and its retries.
type faultCounts struct {
	requests, answered, dropped, sftpDrops, retries, reconnects int
}

func (c faultCounts) faulted() int { return c.requests - c.answered }

// runUnderFaults runs fleetctl with args while one API request in four
// meets a fault, and counts what was injected and what fleetctl retried.
func runUnderFaults(t *testing.T, f *fleet, args ...string) (run, faultCounts) {
	t.Helper()
	sim := f.sim
	sim.resetStats()
	sim.logged.reset()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	armed := 0
	wg.Add(1)
	go func() { // arms one fault, for whatever request comes next, per four requests
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			st, err := sim.stats()
			if err != nil || st.Total < 4*armed {
				continue
			}
			if err := sim.addFault(apiFaults[armed%len(apiFaults)]); err != nil {
				t.Error(err)
				return
			}
			armed++
		}
	}()
	r := f.fleetctl(context.Background(), args...)
	close(stop)
	wg.Wait()
	sim.clearFaults()
	st := sim.mustStats()
	c := faultCounts{requests: st.Total, answered: sim.logged.count(), dropped: st.Dropped, sftpDrops: st.SFTPDrops}
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "rate limited by the Hetzner API, waiting until") || strings.Contains(line, ", retrying at ") {
			c.retries++
		}
		if strings.Contains(line, "the SSH connection was lost") {
			c.reconnects++
		}
	}
	t.Logf("%s: %d API requests, %d faulted (%.0f%%: %d dropped connections, the rest 429 or 5xx), %d SSH connections dropped mid-write; %d retries of API requests, %d SSH reconnections; %s",
		strings.Join(args, " "), c.requests, c.faulted(), 100*float64(c.faulted())/float64(max(c.requests, 1)), c.dropped, c.sftpDrops, c.retries, c.reconnects, r.wall.Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("stderr:\n%s", r.stderr)
	}
	return r, c
}

// TestApplyConvergesUnderFaults: the tutorial fleet applied from empty and
// destroyed while the simulator answers one API request in four with 429
// rate_limit_exceeded, a 5xx or a dropped connection (before the request
// is handled, or after: the change made, its answer lost), and the SSH
// connection drops in the middle of pushing the plugin binary and
// config.toml. One apply converges — its retries absorb the faults, no
// second run needed — with no duplicate; one destroy leaves no orphan.
// The figures printed are the faults injected against the retries made.
func TestApplyConvergesUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	ctx := context.Background()
	// A rate limit high enough never to be hit, so that RateLimit-Reset is
	// always near: an injected 429 then costs the client's minimum wait.
	sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond, rateLimit: 3_600_000})
	f := newFleet(t, sim, nil)
	// SSH drops mid-push: the binary after its first MiB, config.toml at
	// its first byte.
	for _, ff := range []fault{
		{Path: "/usr/local/bin/.fleetctl.tmp-*", SFTPDropAfter: 1 << 20},
		{Path: "/etc/gitlab-runner/.config.toml.tmp-*", SFTPDropAfter: 1},
	} {
		if err := sim.addFault(ff); err != nil {
			t.Fatal(err)
		}
	}

	r, c := runUnderFaults(t, f, "apply")
	if r.code != 0 {
		t.Fatalf("apply under faults did not succeed: %s", r)
	}
	if c.faulted()*10 < c.requests || c.dropped == 0 {
		t.Errorf("only %d of %d API requests were faulted (%d dropped), want at least 10%% and some dropped", c.faulted(), c.requests, c.dropped)
	}
	if c.sftpDrops != 2 || c.reconnects != 2 {
		t.Errorf("%d SSH connections dropped mid-write and %d reconnections, want 2 each (the binary and config.toml)", c.sftpDrops, c.reconnects)
	}
	f.checkConverged(ctx)

	r, c = runUnderFaults(t, f, "destroy", "--confirm", fleetName)
	if r.code != 0 {
		t.Fatalf("destroy under faults did not succeed: %s", r)
	}
	if c.faulted()*10 < c.requests {
		t.Errorf("only %d of %d API requests of destroy were faulted, want at least 10%%", c.faulted(), c.requests)
	}
	if inv, err := f.inventory(ctx); err != nil || len(inv) != 0 {
		t.Errorf("after destroy under faults the project holds %q (%v), want nothing", inv, err)
	}
}

package e2e

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestApplyConvergesUnderFaults: with the simulator answering every fourth
// API request with 429 rate_limit_exceeded or a 5xx, one apply from empty
// still succeeds — its retries absorb the faults, no second run needed —
// and the fleet converges with no duplicate resource.
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

	statuses := []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusTooManyRequests, http.StatusGatewayTimeout}
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
			if err := sim.addFault(fault{Path: "/v1/*", Status: statuses[armed%len(statuses)]}); err != nil {
				t.Error(err)
				return
			}
			armed++
		}
	}()
	r := f.fleetctl(ctx, "apply")
	close(stop)
	wg.Wait()
	sim.clearFaults()
	st := sim.mustStats()
	faulted := st.Total - sim.logged.count()
	t.Logf("apply: %d API requests, %d answered with an injected 429 or 5xx (%.0f%%), %s",
		st.Total, faulted, 100*float64(faulted)/float64(st.Total), r.wall.Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("apply under faults did not succeed: %s", r)
	}
	if faulted*10 < st.Total || faulted < 3 {
		t.Fatalf("only %d of %d requests were faulted, want at least 10%%", faulted, st.Total)
	}
	f.checkConverged(ctx)
}

package plugin

import (
	"context"
	"sort"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// updateEvery is how often the benchmark runs Update while it waits: the
// resolution of the "running" and "gone" times. fleeting itself polls every
// 2 s while it expects changes (update_interval_when_expecting).
const updateEvery = 250 * time.Millisecond

// BenchmarkScale50 creates 50 instances against the simulator with 200 ms
// API latency and 5 s actions, waits until they run, deletes them and waits
// until they are gone, and reports the times and API requests.
//
//	go test ./plugin -run '^$' -bench Scale50 -benchtime 1x
func BenchmarkScale50(b *testing.B) {
	for range b.N {
		e := newSimEnv(b, hcloudsim.Options{Latency: 200 * time.Millisecond, ActionDuration: 5 * time.Second}, nil)
		g := e.group(b, e.writeFleet(b, basicInstances))
		e.initGroup(b, g)
		ctx := context.Background()
		e.sim.ResetStats()

		start := time.Now()
		n, err := g.Increase(ctx, 50)
		if err != nil || n != 50 {
			b.Fatalf("Increase(50) = %d, %v", n, err)
		}
		exist := time.Since(start)
		ids := waitAll(b, g, 50, provider.StateRunning)
		running := time.Since(start)
		createRequests := e.sim.Stats().Total

		startDelete := time.Now()
		deleted, err := g.Decrease(ctx, ids)
		if err != nil || len(deleted) != 50 {
			b.Fatalf("Decrease = %d, %v", len(deleted), err)
		}
		accepted := time.Since(startDelete)
		waitAll(b, g, 0, provider.StateDeleted)
		gone := time.Since(startDelete)
		stats := e.sim.Stats()

		b.ReportMetric(exist.Seconds(), "s-exist")
		b.ReportMetric(running.Seconds(), "s-running")
		b.ReportMetric(accepted.Seconds(), "s-delete-accepted")
		b.ReportMetric(gone.Seconds(), "s-gone")
		b.ReportMetric(float64(stats.Total), "requests")
		b.Logf("50 instances, latency 200ms, actions 5s: all exist after %v, all running after %v (%d requests); deletes accepted after %v, all gone after %v; %d requests in all",
			exist.Round(time.Millisecond), running.Round(time.Millisecond), createRequests, accepted.Round(time.Millisecond), gone.Round(time.Millisecond), stats.Total)
		routes := make([]string, 0, len(stats.ByRoute))
		for r := range stats.ByRoute {
			routes = append(routes, r)
		}
		sort.Strings(routes)
		for _, r := range routes {
			b.Logf("  %4d %s", stats.ByRoute[r], r)
		}
	}
}

// BenchmarkUpdate500 reports the API requests one Update costs with 500
// instances (the floor is one per 50).
func BenchmarkUpdate500(b *testing.B) {
	e := newSimEnv(b, hcloudsim.Options{}, nil)
	g := e.group(b, e.writeFleet(b, basicInstances))
	e.initGroup(b, g)
	if n, err := g.Increase(context.Background(), 500); err != nil || n != 500 {
		b.Fatalf("Increase(500) = %d, %v", n, err)
	}
	e.sim.ResetStats()
	b.ResetTimer()
	for range b.N {
		got := 0
		if err := g.Update(context.Background(), func(string, provider.State) { got++ }); err != nil || got != 500 {
			b.Fatalf("Update = %d instances, %v", got, err)
		}
	}
	b.StopTimer()
	perUpdate := float64(e.sim.Stats().Total) / float64(b.N)
	b.ReportMetric(perUpdate, "requests/update")
	b.Logf("Update with 500 instances: %.1f requests (floor 10)", perUpdate)
}

// waitAll runs Update every updateEvery until n instances are all in want
// (for deleted: until none is left), and returns their IDs.
func waitAll(b *testing.B, g *InstanceGroup, n int, want provider.State) []string {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		states := map[string]provider.State{}
		if err := g.Update(context.Background(), func(id string, st provider.State) {
			if st != provider.StateDeleted {
				states[id] = st
			}
		}); err != nil {
			b.Fatal(err)
		}
		ok := len(states) == n
		var ids []string
		for id, st := range states {
			ok = ok && st == want
			ids = append(ids, id)
		}
		if ok {
			sort.Strings(ids)
			return ids
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d instances, want %d %s", len(states), n, want)
		}
		time.Sleep(updateEvery)
	}
}

package hcloudclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

type simClient struct {
	sim    *hcloudsim.Sim
	client *hcloud.Client
	tr     *Transport

	mu    sync.Mutex
	waits []Wait
}

func newSimClient(t *testing.T, opts hcloudsim.Options, p Policy) *simClient {
	t.Helper()
	sim := hcloudsim.New(opts)
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := &simClient{sim: sim}
	c.client, c.tr = New(Options{Token: "t", Endpoint: srv.URL + "/v1", PollInterval: 10 * time.Millisecond, Retry: p,
		Notify: func(w Wait) { c.mu.Lock(); c.waits = append(c.waits, w); c.mu.Unlock() }})
	return c
}

// exhaust spends the simulator's whole rate-limit budget: it sends until
// the simulator answers 429, so that what refilled while it sent (the
// budget refills evenly, and sending limit requests takes seconds on a
// busy machine) is spent too.
func (c *simClient) exhaust(t *testing.T, limit int) {
	t.Helper()
	for range 2 * limit {
		r := httptest.NewRequest("GET", "/v1/locations", nil)
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		c.sim.ServeHTTP(w, r)
		if w.Code == http.StatusTooManyRequests {
			c.sim.ResetStats()
			return
		}
	}
	t.Fatalf("the simulator answered %d requests without a 429", 2*limit)
}

func (c *simClient) told() []Wait {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Wait(nil), c.waits...)
}

// TestRateLimitExhaustedWaitsForReset: with the hourly budget spent, a
// request waits until one request is allowed again, says so, and succeeds.
func TestRateLimitExhaustedWaitsForReset(t *testing.T) {
	t.Parallel()
	c := newSimClient(t, hcloudsim.Options{RateLimit: 3600}, fastPolicy)
	c.exhaust(t, 3600)
	start := time.Now()
	locs, err := c.client.Location.All(context.Background())
	if err != nil || len(locs) == 0 {
		t.Fatalf("list locations after the rate limit: %d, %v", len(locs), err)
	}
	waits := c.told()
	if len(waits) == 0 || !waits[0].RateLimited {
		t.Fatalf("no rate-limit wait told: %v", waits)
	}
	msg := waits[0].String()
	for _, want := range []string{"GET /v1/locations: rate limited by the Hetzner API, waiting until ", "(RateLimit-Reset "} {
		if !strings.Contains(msg, want) {
			t.Errorf("wait message %q lacks %q", msg, want)
		}
	}
	// 3600 an hour: one request is back a second after the 429. Its
	// RateLimit-Reset is when the whole hour's budget is back, so that
	// second is an hour, less one second, before the reset. Measured
	// against the 429's own reset, not against a start time that a busy
	// machine leaves far behind.
	reset := waits[0].Reset
	if reset.IsZero() || reset.Before(start) {
		t.Fatalf("RateLimit-Reset %v of a 429 received after %v", reset, start)
	}
	// The reset is in whole seconds, and the client reads the answer a
	// moment after the simulator wrote it: a few seconds' slack, against
	// the hour a wait for the whole budget would take.
	oneBack := reset.Add(-time.Hour + time.Second)
	if d := waits[0].Until.Sub(oneBack); d < -time.Second || d > 3*time.Second {
		t.Errorf("waited until %v, want about %v (a second's refill, an hour before the reset %v)", waits[0].Until, oneBack, reset)
	}
	if time.Now().Before(waits[0].Until) {
		t.Errorf("the request returned before the wait it announced ended")
	}
}

// TestRateLimitBeyondMaximum: a reset further away than the maximum wait
// fails at once with "rate limited until …", not with a context deadline.
func TestRateLimitBeyondMaximum(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		policy  Policy
		timeout time.Duration
		want    string
	}{
		{name: "maximum wait", policy: Policy{MaxRateLimitWait: 5 * time.Second}, want: "longer than the maximum wait of 5s"},
		{name: "command deadline", timeout: 10 * time.Second, want: "the command's deadline ("},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 120 an hour: the next request is allowed 30 s later.
			c := newSimClient(t, hcloudsim.Options{RateLimit: 120}, tt.policy)
			c.exhaust(t, 120)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := c.client.Server.All(ctx)
			if err == nil {
				t.Fatal("listing servers with the budget spent succeeded")
			}
			if !strings.Contains(err.Error(), "rate limited until ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want \"rate limited until …\" and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "deadline exceeded") {
				t.Errorf("error = %q hides the rate limit", err)
			}
			if !hcloud.IsError(err, hcloud.ErrorCodeRateLimitExceeded) {
				t.Errorf("hcloud.IsError(rate_limit_exceeded) = false for %v", err)
			}
			// The reset is 30 s away: giving up is much sooner.
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %v to give up on a wait it knew was too long", time.Since(start))
			}
			if got := c.sim.Stats().Total; got != 1 {
				t.Errorf("%d requests sent, want 1", got)
			}
		})
	}
}

// TestServerErrorsMakeTheDocumentedAttempts: 20 answers 503 to PUT
// /v1/servers/*: exactly DefaultMaxAttempts attempts, and the error names
// the 503.
func TestServerErrorsMakeTheDocumentedAttempts(t *testing.T) {
	t.Parallel()
	c := newSimClient(t, hcloudsim.Options{}, Policy{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	ctx := context.Background()
	res, _, err := c.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s", ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sim.AddFault(hcloudsim.Fault{Method: "PUT", Path: "/v1/servers/*", Count: 20, Status: 503}); err != nil {
		t.Fatal(err)
	}
	c.sim.ResetStats()
	_, _, err = c.client.Server.Update(ctx, res.Server, hcloud.ServerUpdateOpts{Name: "t"})
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") || !strings.Contains(err.Error(), "gave up after 10 attempts") {
		t.Fatalf("error = %v, want it to name the 503 and the 10 attempts", err)
	}
	if got := c.sim.Stats().ByRoute["PUT /v1/servers/{id}"]; got != DefaultMaxAttempts {
		t.Errorf("%d attempts, want %d (documented)", got, DefaultMaxAttempts)
	}
	if got := len(c.told()); got != DefaultMaxAttempts-1 {
		t.Errorf("%d retries told, want %d", got, DefaultMaxAttempts-1)
	}
}

// TestAttemptTimeout: an attempt that gets no answer is cut after
// AttemptTimeout and retried, instead of the request hanging.
func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	c := newSimClient(t, hcloudsim.Options{}, Policy{Backoff: time.Millisecond, AttemptTimeout: 200 * time.Millisecond})
	if err := c.sim.AddFault(hcloudsim.Fault{Method: "GET", Path: "/v1/locations", Count: 2, Latency: "1m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.Location.All(context.Background()); err != nil {
		t.Fatalf("list locations: %v", err)
	}
	waits := c.told()
	if len(waits) != 2 || !strings.Contains(waits[0].Status, "no answer within 200ms") {
		t.Errorf("waits = %v, want two after \"no answer within 200ms\"", waits)
	}
}

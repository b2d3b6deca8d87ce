package plugin

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// Client tuning. Actions are polled at a short constant interval: the
// plugin waits on few actions (volumes, deletes before a volume sweep), and
// a long exponential backoff only delays readiness.
const (
	pollInterval   = 500 * time.Millisecond
	requestTimeout = 30 * time.Second
	// maxRateLimitWait caps one wait for RateLimit-Reset; Hetzner's header
	// names the moment the whole budget is back, which can be an hour away,
	// while a single request is possible again much earlier.
	maxRateLimitWait = time.Minute
	// maxRateLimitRetries bounds how often one request is retried after a 429.
	maxRateLimitRetries = 8
)

// newClient builds the hcloud-go client the plugin uses.
//
// hcloud-go retries rate_limit_exceeded with its own exponential backoff,
// ignoring RateLimit-Reset. The transport below handles 429 instead: it
// holds every request of this client (not just the one that was refused)
// until the reset time the API announced, then retries. hcloud-go's own
// retries remain for conflict, 502, 504 and timeouts.
func newClient(token, endpoint string, log hclog.Logger, base http.RoundTripper) *hcloud.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return hcloud.NewClient(
		hcloud.WithToken(token),
		hcloud.WithEndpoint(endpoint),
		hcloud.WithApplication("fleetctl", version()),
		hcloud.WithHTTPClient(&http.Client{
			Timeout:   requestTimeout,
			Transport: &rateLimitTransport{next: base, log: log, maxWait: maxRateLimitWait, maxRetries: maxRateLimitRetries},
		}),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(pollInterval)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{
			BackoffFunc: hcloud.ExponentialBackoffWithOpts(hcloud.ExponentialBackoffOpts{
				Base: 500 * time.Millisecond, Multiplier: 2, Cap: 5 * time.Second, Jitter: true,
			}),
			MaxRetries: 3,
		}),
	)
}

// rateLimitTransport retries requests refused with 429 once the API's
// RateLimit-Reset has passed, and keeps all other requests of the client
// back until then, so that 32 concurrent creates do not each burn a request
// on a budget known to be empty.
type rateLimitTransport struct {
	next       http.RoundTripper
	log        hclog.Logger
	maxWait    time.Duration
	maxRetries int

	mu          sync.Mutex
	pausedUntil time.Time
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		if err := t.waitPause(req.Context()); err != nil {
			return nil, err
		}
		r := req
		if attempt > 0 && req.Body != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		if attempt >= t.maxRetries || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		wait := resetWait(resp.Header, time.Now())
		if wait > t.maxWait {
			wait = t.maxWait
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if t.log != nil {
			t.log.Warn("rate limit exceeded, waiting for RateLimit-Reset", "method", req.Method, "path", req.URL.Path, "wait", wait.Round(time.Millisecond).String())
		}
		t.pause(time.Now().Add(wait))
	}
}

func (t *rateLimitTransport) pause(until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
}

func (t *rateLimitTransport) waitPause(ctx context.Context) error {
	for {
		t.mu.Lock()
		d := time.Until(t.pausedUntil)
		t.mu.Unlock()
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// minRateLimitWait is waited when the API refuses with 429 but names no
// reset in the future.
const minRateLimitWait = 500 * time.Millisecond

// resetWait reads how long to wait from a 429 response: RateLimit-Reset is
// a Unix time on Hetzner's API (a small number is read as seconds from
// now, as in the IETF RateLimit header draft); Retry-After is honoured too.
func resetWait(h http.Header, now time.Time) time.Duration {
	var wait time.Duration
	if v, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil && v > 0 {
		if v > 1_000_000_000 {
			wait = time.Unix(v, 0).Sub(now)
		} else {
			wait = time.Duration(v) * time.Second
		}
	}
	if v, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && time.Duration(v)*time.Second > wait {
		wait = time.Duration(v) * time.Second
	}
	if wait <= 0 {
		wait = minRateLimitWait
	}
	return wait
}

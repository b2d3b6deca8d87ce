package hcloudclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// Policy says how the transport retries a request:
//
//   - 429 rate_limit_exceeded: wait until a request is allowed again and
//     retry, for as long as the request's waits for the rate limit add up
//     to at most MaxRateLimitWait; a wait that would go beyond fails the
//     request with a RateLimitError ("rate limited until …"). Hetzner's
//     RateLimit-Reset is when the whole budget is back; the budget refills
//     evenly (RateLimit-Limit per hour), so one request is allowed again
//     after an hour/RateLimit-Limit: the wait ends at the earlier of the
//     two, and at least MinRateLimitWait from now. Until then, the other
//     requests of the same transport hold back too (each waiting on its
//     own, none after another).
//   - 500, 502, 503, 504, 409 conflict, 423 locked, transport errors and
//     attempts that took longer than AttemptTimeout: exponential backoff
//     from Backoff, doubling up to MaxBackoff, MaxAttempts attempts in all;
//     then the request fails with a GaveUpError naming the last answer.
//
// Anything else (422, 404, 409 uniqueness_error, …) is returned at once.
// A retried create that had in fact succeeded answers 409
// uniqueness_error, which the callers resolve by looking the name up.
// The request's context bounds everything: no wait goes past its deadline.
type Policy struct {
	// MaxAttempts bounds the attempts per request on errors other than
	// 429; default 10.
	MaxAttempts int
	// Backoff is the first wait after such an error; default 500 ms.
	Backoff time.Duration
	// MaxBackoff caps one backoff wait; default 15 s.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt, its answer's body included;
	// default 30 s.
	AttemptTimeout time.Duration
	// MinRateLimitWait is the least wait after a 429; default 1 s.
	MinRateLimitWait time.Duration
	// MaxRateLimitWait is the most one request waits for the rate limit,
	// all its waits together; default 5 minutes.
	MaxRateLimitWait time.Duration
}

// Defaults of Policy, as documented there.
const (
	DefaultMaxAttempts      = 10
	DefaultBackoff          = 500 * time.Millisecond
	DefaultMaxBackoff       = 15 * time.Second
	DefaultAttemptTimeout   = 30 * time.Second
	DefaultMinRateLimitWait = time.Second
	DefaultMaxRateLimitWait = 5 * time.Minute
)

// WithDefaults returns p with its zero fields set to the defaults.
func (p Policy) WithDefaults() Policy {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	set(&p.Backoff, DefaultBackoff)
	set(&p.MaxBackoff, DefaultMaxBackoff)
	set(&p.AttemptTimeout, DefaultAttemptTimeout)
	set(&p.MinRateLimitWait, DefaultMinRateLimitWait)
	set(&p.MaxRateLimitWait, DefaultMaxRateLimitWait)
	return p
}

func (p Policy) String() string {
	return fmt.Sprintf("%d attempts, backoff %s..%s, %s per attempt, rate limit waits %s..%s",
		p.MaxAttempts, p.Backoff, p.MaxBackoff, p.AttemptTimeout, p.MinRateLimitWait, p.MaxRateLimitWait)
}

// Wait describes a wait before a retry, for the caller to show.
type Wait struct {
	Method, Path string
	// RateLimited is true for a wait on the rate limit; Reset is then the
	// RateLimit-Reset the API sent (zero if none).
	RateLimited bool
	Reset       time.Time
	// Status is the failed attempt's answer ("503 Service Unavailable")
	// or its transport error, for a backoff.
	Status string
	// Attempt is the attempt that failed, of MaxAttempts.
	Attempt, MaxAttempts int
	Until                time.Time
}

func (w Wait) String() string {
	if w.RateLimited {
		s := fmt.Sprintf("%s %s: rate limited by the Hetzner API, waiting until %s", w.Method, w.Path, w.Until.Format(time.TimeOnly))
		if !w.Reset.IsZero() {
			s += fmt.Sprintf(" (RateLimit-Reset %s)", w.Reset.Format(time.TimeOnly))
		}
		return s
	}
	return fmt.Sprintf("%s %s: %s, retrying at %s (attempt %d of %d)", w.Method, w.Path, w.Status, w.Until.Format(time.TimeOnly), w.Attempt+1, w.MaxAttempts)
}

// RateLimitError is a request given up on the rate limit: the next
// request would be allowed at Until, too far away. It unwraps to Hetzner's
// rate_limit_exceeded error.
type RateLimitError struct {
	Until time.Time
	// Why says what the wait exceeded.
	Why string
	API hcloud.Error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited until %s: %s", e.Until.Format(time.RFC3339), e.Why)
}

func (e *RateLimitError) Unwrap() error { return e.API }

// GaveUpError is a request that failed MaxAttempts times. Status is the
// last answer ("503 Service Unavailable"); API is Hetzner's error in it
// (what hcloud.IsError finds), or Err the last transport error.
type GaveUpError struct {
	Attempts int
	Status   string
	API      *hcloud.Error
	Err      error
}

func (e *GaveUpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
	}
	s := fmt.Sprintf("gave up after %d attempts, the last answered %s", e.Attempts, e.Status)
	if e.API != nil && e.API.Message != "" {
		s += fmt.Sprintf(": %s (%s)", e.API.Message, e.API.Code)
	}
	return s
}

func (e *GaveUpError) Unwrap() error {
	if e.API != nil {
		return *e.API
	}
	return e.Err
}

// Transport is the retrying http.RoundTripper described at Policy. It is
// safe for concurrent use.
type Transport struct {
	base     http.RoundTripper
	policy   Policy
	notify   func(Wait)
	requests atomic.Int64

	mu          sync.Mutex
	pausedUntil time.Time

	// now and sleep are replaced in tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewTransport returns a Transport sending through base (nil:
// http.DefaultTransport) and telling notify (may be nil) about its waits.
func NewTransport(base http.RoundTripper, p Policy, notify func(Wait)) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, policy: p.WithDefaults(), notify: notify, now: time.Now, sleep: sleepCtx}
}

// Requests returns how many attempts the transport sent.
func (t *Transport) Requests() int64 { return t.requests.Load() }

// Policy returns the policy in force, defaults filled in.
func (t *Transport) Policy() Policy { return t.policy }

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// RoundTrip sends req, retrying as Policy says.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	p := t.policy
	canRetry := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	backoff := p.Backoff
	var rateLimited time.Duration // waited for the rate limit so far
	for attempt := 1; ; attempt++ {
		if err := t.waitPause(req, &rateLimited); err != nil {
			return nil, err
		}
		resp, err := t.attempt(req, attempt)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			if !canRetry {
				return resp, nil
			}
			until, reset := t.rateLimitUntil(resp.Header)
			api := readAPIError(resp)
			if err := t.allowWait(req, until, rateLimited, api); err != nil {
				return nil, err
			}
			t.pause(until)
			t.tell(Wait{Method: req.Method, Path: req.URL.Path, RateLimited: true, Reset: reset, Until: until})
			continue // waitPause waits
		}
		status, retry := retryable(resp, err)
		if !retry {
			return resp, err
		}
		if attempt >= p.MaxAttempts || !canRetry {
			return nil, gaveUp(attempt, status, resp, err)
		}
		until := t.now().Add(backoff)
		if dl, ok := ctx.Deadline(); ok && until.After(dl) {
			return nil, fmt.Errorf("%w (no time left before the command's deadline to retry)", gaveUp(attempt, status, resp, err))
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		t.tell(Wait{Method: req.Method, Path: req.URL.Path, Status: status, Attempt: attempt, MaxAttempts: p.MaxAttempts, Until: until})
		if err := t.sleep(ctx, backoff); err != nil {
			return nil, fmt.Errorf("waiting to retry after %s: %w", status, err)
		}
		backoff = min(backoff*2, p.MaxBackoff)
	}
}

// attempt sends one attempt under its own timeout; the timeout covers
// reading the body, so it ends when the body is closed.
func (t *Transport) attempt(req *http.Request, n int) (*http.Response, error) {
	actx, cancel := context.WithTimeout(req.Context(), t.policy.AttemptTimeout)
	r := req.Clone(actx)
	if n > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, err
		}
		r.Body = body
	}
	t.requests.Add(1)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		cancel()
		if req.Context().Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", t.policy.AttemptTimeout)
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// retryable says whether an attempt is retried on backoff and names its
// failure. It may replace resp.Body (it reads the error code).
func retryable(resp *http.Response, err error) (string, bool) {
	if err != nil {
		return err.Error(), true
	}
	status := strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return status, true
	case http.StatusConflict, http.StatusLocked:
		code := peekAPIError(resp).Code
		return status, code == hcloud.ErrorCodeConflict || code == hcloud.ErrorCodeLocked
	}
	return status, false
}

func gaveUp(attempts int, status string, resp *http.Response, err error) error {
	e := &GaveUpError{Attempts: attempts, Status: status, Err: err}
	if resp != nil {
		api := readAPIError(resp)
		if api.Code != "" {
			e.API = &api
		}
	}
	return e
}

// rateLimitUntil reads a 429's headers: when one request is allowed again
// (see Policy), and the RateLimit-Reset sent (zero if none).
func (t *Transport) rateLimitUntil(h http.Header) (until, reset time.Time) {
	now := t.now()
	if v, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil && v > 0 {
		if v > 1_000_000_000 {
			reset = time.Unix(v, 0)
		} else { // seconds from now, as the IETF RateLimit draft has it
			reset = now.Add(time.Duration(v) * time.Second)
		}
		until = reset
	}
	limit, lerr := strconv.Atoi(h.Get("RateLimit-Limit"))
	remaining, rerr := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if lerr == nil && rerr == nil && limit > 0 && remaining < 1 {
		next := now.Add(time.Hour * time.Duration(1-remaining) / time.Duration(limit))
		if until.IsZero() || next.Before(until) {
			until = next
		}
	}
	if v, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && v > 0 {
		if ra := now.Add(time.Duration(v) * time.Second); ra.After(until) {
			until = ra
		}
	}
	if least := now.Add(t.policy.MinRateLimitWait); until.Before(least) {
		until = least
	}
	return until, reset
}

// allowWait fails a request whose wait for the rate limit until the given
// time would exceed MaxRateLimitWait or the context's deadline.
func (t *Transport) allowWait(req *http.Request, until time.Time, waited time.Duration, api hcloud.Error) error {
	if api.Code == "" {
		api = hcloud.Error{Code: hcloud.ErrorCodeRateLimitExceeded, Message: "rate limit exceeded"}
	}
	d := until.Sub(t.now())
	if waited+d > t.policy.MaxRateLimitWait {
		why := fmt.Sprintf("the next request is allowed in %s", d.Round(time.Second))
		if waited > 0 {
			why += fmt.Sprintf(", after %s waited", waited.Round(time.Second))
		}
		return &RateLimitError{Until: until, API: api, Why: why + fmt.Sprintf(", longer than the maximum wait of %s", t.policy.MaxRateLimitWait)}
	}
	if dl, ok := req.Context().Deadline(); ok && until.After(dl) {
		return &RateLimitError{Until: until, API: api,
			Why: fmt.Sprintf("the command's deadline (%s) comes first", dl.Format(time.TimeOnly))}
	}
	return nil
}

func (t *Transport) pause(until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
}

// waitPause holds a request back while the transport knows the rate limit
// refuses it, adding the wait to *waited. Concurrent requests wait side by
// side, each on its own timer.
func (t *Transport) waitPause(req *http.Request, waited *time.Duration) error {
	var done time.Time // the pause already waited for
	for {
		t.mu.Lock()
		until := t.pausedUntil
		t.mu.Unlock()
		d := until.Sub(t.now())
		if d <= 0 || !until.After(done) {
			return nil
		}
		if err := t.allowWait(req, until, *waited, hcloud.Error{}); err != nil {
			return err
		}
		if err := t.sleep(req.Context(), d); err != nil {
			return fmt.Errorf("waiting for the rate limit (until %s): %w", until.Format(time.TimeOnly), err)
		}
		*waited += d
		done = until
	}
}

func (t *Transport) tell(w Wait) {
	if t.notify != nil {
		t.notify(w)
	}
}

// peekAPIError reads Hetzner's {"error":{"code","message"}} and puts the
// body back.
func peekAPIError(resp *http.Response) hcloud.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return parseAPIError(b)
}

// readAPIError reads Hetzner's error from a response that is not passed on,
// and closes it.
func readAPIError(resp *http.Response) hcloud.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return parseAPIError(b)
}

func parseAPIError(b []byte) hcloud.Error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return hcloud.Error{}
	}
	return hcloud.Error{Code: hcloud.ErrorCode(e.Error.Code), Message: e.Error.Message}
}

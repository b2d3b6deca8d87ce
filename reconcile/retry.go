package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// RetryPolicy says how the Hetzner adapter retries a request that failed in
// a way worth retrying:
//
//   - 429 rate_limit_exceeded: wait until the RateLimit-Reset time the API
//     sent (at least MinRateLimitWait, at most MaxRateLimitWait per wait);
//   - 500, 502, 503, 504 and transport errors: exponential backoff from
//     Backoff, doubling up to MaxBackoff;
//   - 409 conflict and 423 locked (another action is running on the
//     resource): the same backoff.
//
// Anything else (422, 404, 409 uniqueness_error, …) is returned at once.
// A retried create that had in fact succeeded answers 409
// uniqueness_error, which Apply resolves by adopting the resource it owns.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts per request; default 10.
	MaxAttempts int
	// Backoff is the first wait; default 500 ms.
	Backoff time.Duration
	// MaxBackoff caps one backoff wait; default 15 s.
	MaxBackoff time.Duration
	// MinRateLimitWait is the least wait after a 429; default 1 s.
	MinRateLimitWait time.Duration
	// MaxRateLimitWait caps one wait after a 429; default 60 s.
	MaxRateLimitWait time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 15 * time.Second
	}
	if p.MinRateLimitWait <= 0 {
		p.MinRateLimitWait = time.Second
	}
	if p.MaxRateLimitWait <= 0 {
		p.MaxRateLimitWait = 60 * time.Second
	}
	return p
}

type retryTransport struct {
	base     http.RoundTripper
	policy   RetryPolicy
	requests atomic.Int64
	now      func() time.Time
	// onRetry, when set, is told of each retry before its wait.
	onRetry func(Retry)
}

func newRetryTransport(base http.RoundTripper, p RetryPolicy) *retryTransport {
	return &retryTransport{base: base, policy: p.withDefaults(), now: time.Now}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	backoff := t.policy.Backoff
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		t.requests.Add(1)
		resp, err := t.base.RoundTrip(r)
		wait, retry := t.retryAfter(resp, err, backoff)
		if !retry || attempt >= t.policy.MaxAttempts || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		if t.onRetry != nil {
			t.onRetry(retryEvent(req, resp, err, attempt, t.policy.MaxAttempts, wait))
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		if wait == backoff {
			backoff = min(backoff*2, t.policy.MaxBackoff)
		}
	}
}

// retryEvent describes a retry for the hooks: the request's method and
// path (never its query or headers) and what failed.
func retryEvent(req *http.Request, resp *http.Response, err error, attempt, maxAttempts int, wait time.Duration) Retry {
	r := Retry{Method: req.Method, Path: req.URL.Path, Attempt: attempt, MaxAttempts: maxAttempts, Wait: wait}
	if err != nil {
		r.Err = err.Error()
	} else {
		r.Status = resp.StatusCode
		r.Code = peekErrorCode(resp)
	}
	return r
}

// retryAfter decides whether a response is retried and after how long. It
// may replace resp.Body (it reads error bodies to find the error code).
func (t *retryTransport) retryAfter(resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	if err != nil {
		return backoff, true
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		wait := t.policy.MinRateLimitWait
		if s := resp.Header.Get("RateLimit-Reset"); s != "" {
			if ts, perr := strconv.ParseInt(s, 10, 64); perr == nil {
				if d := time.Unix(ts, 0).Sub(t.now()); d > wait {
					wait = d
				}
			}
		}
		return min(wait, t.policy.MaxRateLimitWait), true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return backoff, true
	case http.StatusConflict, http.StatusLocked:
		code := peekErrorCode(resp)
		return backoff, code == "conflict" || code == "locked"
	}
	return 0, false
}

// peekErrorCode reads Hetzner's {"error":{"code":…}} and puts the body back.
func peekErrorCode(resp *http.Response) string {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	return e.Error.Code
}

func (p RetryPolicy) String() string {
	return fmt.Sprintf("%d attempts, backoff %s..%s, rate limit wait %s..%s",
		p.MaxAttempts, p.Backoff, p.MaxBackoff, p.MinRateLimitWait, p.MaxRateLimitWait)
}

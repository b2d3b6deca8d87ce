package hcloudclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// fastPolicy keeps backoffs short; rate-limit waits stay as the headers say.
var fastPolicy = Policy{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MinRateLimitWait: time.Millisecond}

func TestTransportRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// answers are the status codes (and error codes) of the attempts
		answers   []string
		attempts  int
		wantErr   string // "" means the last answer comes back
		wantCode  hcloud.ErrorCode
		wantTries int
	}{
		{name: "success", answers: []string{"200"}, wantTries: 1},
		{name: "5xx retried", answers: []string{"503", "502", "500", "504", "200"}, wantTries: 5},
		{name: "locked retried", answers: []string{"423 locked", "200"}, wantTries: 2},
		{name: "conflict retried", answers: []string{"409 conflict", "200"}, wantTries: 2},
		{name: "uniqueness_error returned at once", answers: []string{"409 uniqueness_error", "200"}, wantTries: 1},
		{name: "protected returned at once", answers: []string{"423 protected", "200"}, wantTries: 1},
		{name: "invalid input returned at once", answers: []string{"422 invalid_input"}, wantTries: 1},
		{name: "gives up after MaxAttempts naming the last status", answers: []string{"502", "503"}, attempts: 3, wantTries: 3,
			wantErr: "gave up after 3 attempts, the last answered 503 Service Unavailable: m (unavailable)", wantCode: "unavailable"},
		{name: "gives up on locked", answers: []string{"423 locked"}, attempts: 2, wantTries: 2,
			wantErr: "the last answered 423 Locked", wantCode: hcloud.ErrorCodeLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tries atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if string(body) != "payload" {
					t.Errorf("attempt %d got body %q", tries.Load()+1, body)
				}
				n := int(tries.Add(1)) - 1
				status, code, _ := strings.Cut(tt.answers[min(n, len(tt.answers)-1)], " ")
				s, _ := strconv.Atoi(status)
				if code == "" && s >= 500 {
					code = "unavailable"
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(s)
				io.WriteString(w, `{"error":{"code":"`+code+`","message":"m"}}`)
			}))
			defer srv.Close()
			p := fastPolicy
			p.MaxAttempts = tt.attempts
			rt := NewTransport(nil, p, nil)
			req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
			resp, err := rt.RoundTrip(req)
			if got := int(tries.Load()); got != tt.wantTries {
				t.Errorf("%d attempts, want %d", got, tt.wantTries)
			}
			if rt.Requests() != int64(tt.wantTries) {
				t.Errorf("counted %d requests, want %d", rt.Requests(), tt.wantTries)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if !hcloud.IsError(err, tt.wantCode) {
					t.Errorf("hcloud.IsError(err, %s) = false for %v", tt.wantCode, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			last, _, _ := strings.Cut(tt.answers[tt.wantTries-1], " ")
			if strconv.Itoa(resp.StatusCode) != last {
				t.Errorf("status %d, want %s", resp.StatusCode, last)
			}
			if resp.StatusCode >= 400 && !strings.Contains(string(body), `"error"`) {
				t.Errorf("error body lost: %q", body)
			}
		})
	}
}

func TestRateLimitUntil(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "reset only", header: http.Header{"Ratelimit-Reset": {"1800000003"}}, want: 3 * time.Second},
		{name: "reset as seconds from now", header: http.Header{"Ratelimit-Reset": {"2"}}, want: 2 * time.Second},
		{name: "reset passed", header: http.Header{"Ratelimit-Reset": {"1799999990"}}, want: DefaultMinRateLimitWait},
		{name: "no header", header: http.Header{}, want: DefaultMinRateLimitWait},
		// The budget refills evenly: with 3600 an hour, one request is
		// allowed again a second later, long before the bucket is full.
		{name: "one request back before the full reset", header: http.Header{"Ratelimit-Limit": {"3600"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1800003600"}}, want: time.Second},
		{name: "120 an hour", header: http.Header{"Ratelimit-Limit": {"120"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1800003600"}}, want: 30 * time.Second},
		{name: "reset earlier than a refill", header: http.Header{"Ratelimit-Limit": {"60"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1800000005"}}, want: 5 * time.Second},
		{name: "retry-after longer", header: http.Header{"Ratelimit-Reset": {"1800000001"}, "Retry-After": {"4"}}, want: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := NewTransport(nil, Policy{}, nil)
			tr.now = func() time.Time { return now }
			if got, _ := tr.rateLimitUntil(tt.header); got.Sub(now) != tt.want {
				t.Errorf("wait = %v, want %v", got.Sub(now), tt.want)
			}
		})
	}
}

// TestRateLimitWaitsSideBySide: concurrent requests refused with 429 wait
// for the rate limit at the same time, not one after another; each then
// goes through once.
func TestRateLimitWaitsSideBySide(t *testing.T) {
	t.Parallel()
	const n = 8
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if served.Add(1) <= n {
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			w.Header().Set("RateLimit-Limit", "3600")
			w.Header().Set("RateLimit-Remaining", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"rate_limit_exceeded","message":"limit reached"}}`)
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()

	var mu sync.Mutex
	var waits []Wait
	rt := NewTransport(nil, Policy{}, func(w Wait) { mu.Lock(); waits = append(waits, w); mu.Unlock() })
	// The fake sleep returns once all n requests are waiting at once: were
	// the waits serialised, the barrier would never fill.
	var sleeping atomic.Int32
	all := make(chan struct{})
	rt.sleep = func(ctx context.Context, d time.Duration) error {
		if d <= 0 || d > 2*time.Second {
			t.Errorf("slept %v, want about a second (3600 an hour)", d)
		}
		if sleeping.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// Every request is sent before any answer comes back, as happens when
	// the budget runs out under concurrent creates.
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/servers", strings.NewReader("{}"))
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = errors.New(resp.Status)
				}
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request failed: %v", err)
		}
	}
	if got := served.Load(); got < n+1 || got > 2*n {
		t.Errorf("server saw %d requests for %d refused ones", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) == 0 || !waits[0].RateLimited || !strings.Contains(waits[0].String(), "rate limited by the Hetzner API, waiting until") {
		t.Errorf("waits told = %v", waits)
	}
}

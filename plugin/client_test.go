package plugin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func TestResetWait(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "unix time", header: http.Header{"Ratelimit-Reset": {"1800000003"}}, want: 3 * time.Second},
		{name: "delta seconds", header: http.Header{"Ratelimit-Reset": {"2"}}, want: 2 * time.Second},
		{name: "past", header: http.Header{"Ratelimit-Reset": {"1799999990"}}, want: minRateLimitWait},
		{name: "none", header: http.Header{}, want: minRateLimitWait},
		{name: "retry-after longer", header: http.Header{"Ratelimit-Reset": {"1800000001"}, "Retry-After": {"4"}}, want: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := resetWait(tt.header, now); got != tt.want {
				t.Errorf("resetWait = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRateLimitHonoursReset: a 429 holds the refused request and every other
// request of the client until RateLimit-Reset, then they go through.
func TestRateLimitHonoursReset(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		reset    time.Time
		refused  atomic.Int32
		early    atomic.Int32
		requests atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if reset.IsZero() {
			// Whole seconds, as the API sends them; at least 1 s ahead.
			reset = time.Unix(time.Now().Add(1500*time.Millisecond).Unix(), 0)
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("RateLimit-Limit", "3600")
			w.Header().Set("RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"rate_limit_exceeded","message":"limit of 3600 requests per hour reached","details":null}}`)
			return
		}
		if time.Now().Before(reset) {
			early.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"location":{"id":3,"name":"hel1","description":"Helsinki DC Park 1","country":"FI","city":"Helsinki","latitude":60.169855,"longitude":24.938379,"network_zone":"eu-central"}}`)
	}))
	defer srv.Close()

	tr := &rateLimitTransport{next: http.DefaultTransport, maxWait: maxRateLimitWait, maxRetries: maxRateLimitRetries}
	client := hcloud.NewClient(hcloud.WithToken("test-token"), hcloud.WithEndpoint(srv.URL),
		hcloud.WithHTTPClient(&http.Client{Transport: tr}), hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 0}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	get := func() error {
		loc, _, err := client.Location.GetByID(ctx, 3)
		if err == nil && (loc == nil || loc.Name != "hel1") {
			err = fmt.Errorf("location = %+v", loc)
		}
		return err
	}
	start := time.Now()
	errs := make(chan error, 5)
	go func() { errs <- get() }()
	// Once the client has seen the 429, every other request waits too.
	for paused := false; !paused; {
		time.Sleep(time.Millisecond)
		tr.mu.Lock()
		paused = !tr.pausedUntil.IsZero()
		tr.mu.Unlock()
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- get()
		}()
	}
	wg.Wait()
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatalf("request failed although the rate limit was reset: %v", err)
		}
	}
	elapsed := time.Since(start)
	if refused.Load() != 1 {
		t.Errorf("refused %d requests, want 1", refused.Load())
	}
	if early.Load() != 0 {
		t.Errorf("%d requests were sent before RateLimit-Reset", early.Load())
	}
	if got := requests.Load(); got != 6 {
		t.Errorf("server saw %d requests, want 6 (one refused, five served)", got)
	}
	if elapsed > 5*time.Second {
		t.Errorf("took %v; the reset was at most 1.5 s away", elapsed)
	}
}

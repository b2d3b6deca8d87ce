package reconcile

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// answers are the status codes (and error codes) of the attempts
		answers     []string
		wantStatus  int
		wantTries   int
		wantMinWait time.Duration
	}{
		{name: "success", answers: []string{"200"}, wantStatus: 200, wantTries: 1},
		{name: "5xx retried", answers: []string{"503", "502", "500", "504", "200"}, wantStatus: 200, wantTries: 5},
		{name: "429 waits until RateLimit-Reset", answers: []string{"429", "200"}, wantStatus: 200, wantTries: 2, wantMinWait: time.Second},
		{name: "locked retried", answers: []string{"423 locked", "200"}, wantStatus: 200, wantTries: 2},
		{name: "uniqueness_error returned at once", answers: []string{"409 uniqueness_error", "200"}, wantStatus: 409, wantTries: 1},
		{name: "invalid input returned at once", answers: []string{"422 invalid_input"}, wantStatus: 422, wantTries: 1},
		{name: "gives up after MaxAttempts", answers: []string{"503", "503", "503", "503"}, wantStatus: 503, wantTries: 3},
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
				a := tt.answers[min(n, len(tt.answers)-1)]
				status, code, _ := strings.Cut(a, " ")
				s, _ := strconv.Atoi(status)
				w.Header().Set("Content-Type", "application/json")
				if s == 429 {
					// Whole seconds, as Hetzner sends it: the wait is
					// until then, at least a second from now.
					w.Header().Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(1500*time.Millisecond).Unix(), 10))
					code = "rate_limit_exceeded"
				}
				w.WriteHeader(s)
				io.WriteString(w, `{"error":{"code":"`+code+`","message":"m"}}`)
			}))
			defer srv.Close()
			rt := newRetryTransport(http.DefaultTransport, RetryPolicy{MaxAttempts: 10, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRateLimitWait: 3 * time.Second})
			if tt.name == "gives up after MaxAttempts" {
				rt.policy.MaxAttempts = 3
			}
			req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || int(tries.Load()) != tt.wantTries {
				t.Errorf("status %d after %d tries, want %d after %d", resp.StatusCode, tries.Load(), tt.wantStatus, tt.wantTries)
			}
			if !strings.Contains(string(body), `"error"`) && resp.StatusCode >= 400 {
				t.Errorf("error body lost: %q", body)
			}
			if waited := time.Since(start); waited < tt.wantMinWait {
				t.Errorf("waited %s, want at least %s", waited, tt.wantMinWait)
			}
			if got := rt.requests.Load(); got != int64(tt.wantTries) {
				t.Errorf("counted %d requests, want %d", got, tt.wantTries)
			}
		})
	}
}

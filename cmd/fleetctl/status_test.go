package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStatusCommand runs fleetctl status against the simulator before and
// after apply, as text and JSON, and checks the plan's cost line with it:
// the tutorial fleet costs the manager cpx11 €4.99 and its IPv4 €0.50.
func TestStatusCommand(t *testing.T) {
	fleet, _, bin := simFleet(t)
	r := runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin)
	if r.code != 0 || !strings.Contains(r.stdout, "Cost: €0.00/month → €5.49/month (+€5.49); instances €18.98–€47.45/month, excl. 19.00 % VAT\n") {
		t.Fatalf("plan = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("plan:\n%s", r.stdout)
	r = runCLI(t, "status", "-f", fleet, "--plugin-binary", bin)
	if r.code != 0 || !strings.Contains(r.stdout, "no manager server") {
		t.Errorf("status before apply = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin); r.code != 0 {
		t.Fatalf("apply = %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "status", "-f", fleet, "--plugin-binary", bin)
	noKnownSecrets(t, "status", r.stdout, r.stderr)
	for _, want := range []string{"runner-manager  cpx11 in hel1", "host key     matches", "service      active", "config.toml  in sync",
		"instances    0 (0 running, 0 creating, 0 off, 0 deleting) of max 5", "€0.0088/hour, €5.49/month"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	r = runCLI(t, "status", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	noKnownSecrets(t, "status -o json", r.stdout, r.stderr)
	var js struct {
		FormatVersion string `json:"format_version"`
		Requests      int    `json:"requests"`
		Cost          struct {
			Monthly struct{ Net float64 } `json:"monthly"`
		} `json:"cost"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.FormatVersion != "1.0" || js.Cost.Monthly.Net != 5.49 || js.Requests != 4 {
		t.Errorf("status -o json = %+v, %v:\n%s", js, err, r.stdout)
	}
	if r := runCLI(t, "status", "-f", fleet, "-o", "yaml"); r.code != 1 || !strings.Contains(r.stderr, "--output") {
		t.Errorf("status -o yaml = %d %s", r.code, r.stderr)
	}
}

func TestWatchInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		asked    time.Duration
		requests int64
		want     time.Duration
	}{
		{30 * time.Second, 4, 30 * time.Second}, // 480 an hour
		{time.Second, 4, 8 * time.Second},       // 1,800 an hour: half the budget
		{time.Second, 0, time.Second},
	} {
		if got := watchInterval(tc.asked, tc.requests); got != tc.want {
			t.Errorf("watchInterval(%s, %d) = %s, want %s", tc.asked, tc.requests, got, tc.want)
		}
	}
}

// signalWriter closes seen the first time what it was told to wait for is
// written.
type signalWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestStatusWatch: --watch with an interval that would spend more than half
// of Hetzner's hourly budget refreshes less often and says so; an interrupt
// ends it with exit 0.
func TestStatusWatch(t *testing.T) {
	fleet, _, bin := simFleet(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errOut := &signalWriter{want: "Refreshing every", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"status", "-f", fleet, "--plugin-binary", bin, "--watch", "--interval", "1s"},
			streams{In: strings.NewReader(""), Out: &out, ErrOut: errOut})
	}()
	select {
	case <-errOut.seen:
	case <-time.After(30 * time.Second):
		t.Fatalf("no refresh line; stderr:\n%s", errOut.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, errOut.String())
	}
	// Before apply a look makes 7 requests (the lists, the prices and a
	// look-up by name for each missing resource): every 14 s is 1,800 an
	// hour.
	for _, want := range []string{"--interval 1s would spend more than half of Hetzner's 3600 requests an hour; refreshing every 14s.",
		"Refreshing every 14s: 7 API requests a look, 1800 an hour of Hetzner's 3600."} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

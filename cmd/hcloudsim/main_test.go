package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunPrintsURLAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--token", "secret-token", "--read-only-token", "ro-token", "--quiet"}, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v1") {
		t.Fatalf("first line = %q, want http://127.0.0.1:PORT/v1", line)
	}
	tests := []struct {
		name, method, token string
		want                int
	}{
		{"right token", "GET", "secret-token", 200},
		{"wrong token", "GET", "other", 401},
		{"no token", "GET", "", 401},
		{"read-only reads", "GET", "ro-token", 200},
		{"read-only writes", "POST", "ro-token", 403},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+"/ssh_keys", strings.NewReader(`{}`))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || resp.Header.Get("RateLimit-Limit") != "3600" {
			t.Errorf("%s: status %d, RateLimit-Limit %q; want %d, 3600", tt.name, resp.StatusCode, resp.Header.Get("RateLimit-Limit"), tt.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--rate-limit", "-1"}, {"--ssh-port", "0"}, {"extra"}, {"--nope"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

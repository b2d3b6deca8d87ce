package sshremote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDialRefusesAMismatchedHostKey(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	target := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(target, []byte("original\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := GenerateHostKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.config()
	cfg.HostKeyFingerprint = HostKeyLabelValue(otherKey)

	client, err := Dial(t.Context(), cfg)
	if err == nil {
		client.WriteFile(t.Context(), target, []byte("overwritten\n"), 0o600)
		client.Close()
		t.Fatal("Dial with the wrong host key fingerprint succeeded")
	}
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("Dial error = %v, want ErrHostKeyMismatch", err)
	}
	for _, want := range []string{server.addr, HostKeyLabelValue(server.hostKey), cfg.HostKeyFingerprint} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	got, err := os.ReadFile(target)
	if err != nil || string(got) != "original\n" {
		t.Errorf("file on the server = %q, %v; want it unchanged", got, err)
	}
	// The client gave up during key exchange, before offering its key.
	if !server.log.waitForLog("Connection closed by 127.0.0.1") {
		t.Errorf("sshd did not log the closed connection:\n%s", server.log)
	}
	if strings.Contains(server.log.String(), "Accepted publickey") {
		t.Errorf("the client authenticated to a server with the wrong host key:\n%s", server.log)
	}
}

func TestDialRefusesAWrongClientKey(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	cfg := server.config()
	cfg.Signer = newSigner(t)

	_, err := Dial(t.Context(), cfg)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Dial with an unauthorized key: error = %v, want ErrAuthFailed", err)
	}
	for _, want := range []string{server.addr, "user " + server.username, "refused the client key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// WaitReady gives up at once too: a wrong key does not fix itself.
	// Retrying would go on until the context ends.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = WaitReady(ctx, cfg, 10*time.Millisecond)
	if !errors.Is(err, ErrAuthFailed) || ctx.Err() != nil {
		t.Fatalf("WaitReady with an unauthorized key: error = %v (context: %v), want ErrAuthFailed at once", err, ctx.Err())
	}
}

func TestDialRequiresAFingerprint(t *testing.T) {
	t.Parallel()
	cfg := Config{Addr: "127.0.0.1:1", Signer: newSigner(t)}
	_, err := Dial(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no host key fingerprint") {
		t.Fatalf("Dial without a fingerprint: error = %v, want a refusal", err)
	}
	cfg.HostKeyFingerprint = "not-a-fingerprint"
	if _, err := Dial(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "not a SHA-256 fingerprint") {
		t.Fatalf("Dial with a malformed fingerprint: error = %v, want a refusal", err)
	}
}

func TestDialAcceptsOpenSSHFingerprintForm(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	cfg := server.config()
	cfg.HostKeyFingerprint = "SHA256:" + strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimPrefix(HostKeyLabelValue(server.hostKey), "sha256-"))
	client, err := Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial with %s: %v", cfg.HostKeyFingerprint, err)
	}
	client.Close()
}

func TestDialTimesOutOnASilentServer(t *testing.T) {
	t.Parallel()
	cfg := Config{Addr: silentListener(t), Signer: newSigner(t), HostKeyFingerprint: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4", Timeout: 200 * time.Millisecond}
	// Without its timeout Dial would wait for the context.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := Dial(ctx, cfg)
	if err == nil {
		t.Fatal("Dial to a server that never answers succeeded")
	}
	if ctx.Err() != nil {
		t.Errorf("Dial with a 200ms timeout waited for its context to end: %v", err)
	}
}

func TestDialStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	cfg := Config{Addr: silentListener(t), Signer: newSigner(t), HostKeyFingerprint: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4", Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial error = %v, want context.DeadlineExceeded", err)
	}
	// Its own timeout is a minute: half of it is far beyond noticing.
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("Dial took %v to notice its context ended after 100ms", elapsed)
	}
}

func TestWaitReadyWaitsForALateServer(t *testing.T) {
	t.Parallel()
	requireSSHD(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	server := newTestSSHD(t, port)
	type result struct {
		client *Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		// Until the server listens, WaitReady meets refused connections.
		client, err := WaitReady(t.Context(), server.config(), 20*time.Millisecond)
		done <- result{client, err}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("WaitReady returned before the server started: %v", r.err)
	default:
	}
	if err := server.start(t); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	r := <-done
	t.Logf("WaitReady returned %v after the server listened", time.Since(started))
	if r.err != nil {
		t.Fatalf("WaitReady: %v", r.err)
	}
	defer r.client.Close()
	stdout, _, err := r.client.Run(t.Context(), "echo ready")
	if err != nil || string(stdout) != "ready\n" {
		t.Fatalf("Run on the client WaitReady returned = %q, %v", stdout, err)
	}
}

func TestWaitReadyDoesNotRetryAHostKeyMismatch(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	_, otherKey, err := GenerateHostKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.config()
	cfg.HostKeyFingerprint = HostKeyLabelValue(otherKey)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = WaitReady(ctx, cfg, 10*time.Millisecond)
	if !errors.Is(err, ErrHostKeyMismatch) || ctx.Err() != nil {
		t.Fatalf("WaitReady error = %v (context: %v), want ErrHostKeyMismatch at once", err, ctx.Err())
	}
	// One attempt, so sshd saw one SSH connection (besides the harness's
	// probe, which closes before the version exchange).
	server.log.waitForLog("[preauth]")
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(server.log.String(), "[preauth]"); n != 1 {
		t.Errorf("sshd saw %d SSH connections, want 1:\n%s", n, server.log)
	}
}

func TestWaitReadyStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Addr: "127.0.0.1:" + strconv.Itoa(port), Signer: newSigner(t), HostKeyFingerprint: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4"}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = WaitReady(ctx, cfg, 20*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "waiting for SSH") {
		t.Fatalf("WaitReady error = %v, want the deadline and the last attempt's refusal", err)
	}
}

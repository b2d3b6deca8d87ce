package sshremote

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRun(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	tests := []struct {
		name       string
		command    string
		wantStdout string
		wantStderr string
		wantErr    string // substring; "" for success
		notInErr   []string
	}{
		{name: "output", command: "echo hi", wantStdout: "hi\n"},
		{name: "stderr kept apart", command: "echo out; echo err >&2", wantStdout: "out\n", wantStderr: "err\n"},
		{
			name: "exit status and first stderr line", command: "echo glrt-secret-on-stdout; printf 'first problem\\nsecond\\n' >&2; exit 3",
			wantStdout: "glrt-secret-on-stdout\n", wantStderr: "first problem\nsecond\n",
			wantErr: "exit status 3: first problem", notInErr: []string{"glrt-secret-on-stdout", "second", "echo"},
		},
		{name: "exit status without stderr", command: "exit 3", wantErr: "exit status 3"},
		{name: "missing command", command: "no-such-command-anywhere", wantStderr: "", wantErr: "exit status 127"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := client.Run(t.Context(), tt.command)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Run(%q): %v", tt.command, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Run(%q) error = %v, want one containing %q", tt.command, err, tt.wantErr)
			}
			for _, secret := range tt.notInErr {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
			if d := cmp.Diff(tt.wantStdout, string(stdout)); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if tt.name != "missing command" {
				if d := cmp.Diff(tt.wantStderr, string(stderr)); d != "" {
					t.Errorf("stderr (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := client.Run(ctx, "sleep 30")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error = %v, want context.DeadlineExceeded", err)
	}
	// The command sleeps 30 s: far sooner means it noticed.
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Run took %v to notice its context ended after 200ms", elapsed)
	}
	// The connection is closed: later calls fail instead of hanging.
	if _, _, err := client.Run(t.Context(), "true"); err == nil {
		t.Error("Run on a connection closed by cancellation succeeded")
	}
}

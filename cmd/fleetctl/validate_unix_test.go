//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestValidateFIFO gives validate a named pipe no one writes to: it fails
// at once, naming the file, instead of hanging deaf to Ctrl-C.
func TestValidateFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	done := make(chan result, 1)
	go func() { done <- runCLI(t, "validate", "-f", fifo) }()
	select {
	case got := <-done:
		want := "Error: read " + fifo + ": not a regular file but a named pipe (FIFO): give the path of a file\n"
		if got.code != exitError || got.stderr != want || got.stdout != "" {
			t.Errorf("got %+v, want exit 1 and stderr %q", got, want)
		}
	case <-time.After(30 * time.Second): // a read that blocks never ends
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("validate -f FIFO blocked")
	}
}

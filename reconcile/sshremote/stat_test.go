package sshremote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStatAndChtimes: Stat reports size, mode and mtime (whole seconds)
// without reading the file; Chtimes moves the mtime, also into the past.
func TestStatAndChtimes(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	target := filepath.Join(t.TempDir(), "fleetctl")
	if err := os.WriteFile(target, make([]byte, 12345), 0o755); err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(-90 * time.Minute).Truncate(time.Second)
	if err := client.Chtimes(t.Context(), target, want.Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	local, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !local.ModTime().Equal(want) {
		t.Errorf("mtime on disk %v, want %v", local.ModTime(), want)
	}
	info, err := client.Stat(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 12345 || info.Mode().Perm() != 0o755 || !info.Mode().IsRegular() || !info.ModTime().Equal(want) {
		t.Errorf("Stat = size %d, mode %v, mtime %v; want 12345, -rwxr-xr-x, %v", info.Size(), info.Mode(), info.ModTime(), want)
	}

	absent := filepath.Join(t.TempDir(), "absent")
	if _, err := client.Stat(t.Context(), absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of an absent file: error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if err := client.Chtimes(t.Context(), absent, want); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Chtimes of an absent file: error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if _, err := client.Stat(t.Context(), "relative"); err == nil {
		t.Error("Stat of a relative path succeeded")
	}
}

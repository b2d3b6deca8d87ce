//go:build unix

package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLocalInputsRefuseFIFO gives a named pipe that no one writes to as
// fleet.yaml, as a {file:} secret and as a public_key_file: each is refused
// at once, naming the file, instead of blocking until a writer comes.
func TestLocalInputsRefuseFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const want = "not a regular file but a named pipe (FIFO): give the path of a file"
	for _, tc := range []struct {
		name string
		read func() error
		msg  string
	}{
		{"fleet.yaml", func() error { _, err := Load(fifo); return err }, "read " + fifo + ": " + want},
		{"secret file", func() error { _, err := Secret{File: fifo}.Resolve(); return err }, "secret file " + fifo + ": " + want},
		{"public key file", func() error { _, err := SSHKey{Name: "dev", PublicKeyFile: fifo}.PublicKeyValue(); return err },
			"ssh key dev: public key file " + fifo + ": " + want},
		{"device", func() error { _, err := Load("/dev/zero"); return err }, "read /dev/zero: not a regular file but a character device: give the path of a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.read() }()
			select {
			case err := <-done:
				if err == nil || err.Error() != tc.msg {
					t.Fatalf("error = %v, want %q", err, tc.msg)
				}
				if !errors.Is(err, ErrNotRegular) {
					t.Errorf("error does not wrap ErrNotRegular: %v", err)
				}
			case <-time.After(30 * time.Second): // a read that blocks never ends
				// Unblock the reader so the test binary can end.
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				t.Fatal("reading a FIFO blocked")
			}
		})
	}
}

// TestReadLocalFileLimit checks that a file over the limit is refused
// without its content in the error.
func TestReadLocalFileLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, []byte(strings.Repeat("s3cr3t", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLocalFile(path, 10)
	var tooBig *TooLargeError
	if !errors.As(err, &tooBig) || tooBig.Size != 600 {
		t.Fatalf("error = %v, want a TooLargeError of 600 bytes", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error shows the content: %v", err)
	}
	if data, err := ReadLocalFile(path, 600); err != nil || len(data) != 600 {
		t.Errorf("ReadLocalFile at the limit = %d bytes, %v", len(data), err)
	}
}

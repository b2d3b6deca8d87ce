package sshremote

import (
	"crypto/rand"
	"path/filepath"
	"testing"
)

// BenchmarkDial measures a TCP connect, SSH handshake with host key
// verification and public key authentication against a real sshd.
func BenchmarkDial(b *testing.B) {
	server := startSSHD(b)
	cfg := server.config()
	for b.Loop() {
		client, err := Dial(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		client.Close()
	}
}

// BenchmarkWriteFile4MiB measures one atomic 4 MiB push: temp file, chmod,
// write, fsync, posix-rename.
func BenchmarkWriteFile4MiB(b *testing.B) {
	server := startSSHD(b)
	client := server.dial(b)
	target := filepath.Join(b.TempDir(), "fleetctl")
	data := make([]byte, 4<<20)
	rand.Read(data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := client.WriteFile(b.Context(), target, data, 0o755); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFile4MiB measures reading a 4 MiB file back.
func BenchmarkReadFile4MiB(b *testing.B) {
	server := startSSHD(b)
	client := server.dial(b)
	target := filepath.Join(b.TempDir(), "fleetctl")
	data := make([]byte, 4<<20)
	rand.Read(data)
	if err := client.WriteFile(b.Context(), target, data, 0o755); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := client.ReadFile(b.Context(), target, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun measures one command in a new session on an open connection.
func BenchmarkRun(b *testing.B) {
	server := startSSHD(b)
	client := server.dial(b)
	for b.Loop() {
		if _, _, err := client.Run(b.Context(), "true"); err != nil {
			b.Fatal(err)
		}
	}
}

package reconcile

import (
	"context"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A failed dial returns a nil Files, so that callers that close what they
// got on error do not panic on a nil client.
func TestSSHConnectorFailedDialReturnsNilFiles(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the dial is refused

	c := &SSHConnector{Signer: signer, DialTimeout: 2 * time.Second}
	files, err := c.Connect(context.Background(), Endpoint{Addr: addr, User: "root", HostKeyFingerprint: "sha256-x"}, false)
	if err == nil {
		t.Fatalf("Connect to %s: no error", addr)
	}
	if files != nil {
		t.Errorf("Connect to %s failed (%v) but returned a non-nil Files %#v", addr, err, files)
	}
}

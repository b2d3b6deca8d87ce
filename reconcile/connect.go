package reconcile

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/reconcile/sshremote"
)

// SSHConnector reaches the manager with sshremote: the host key is verified
// against the fingerprint recorded as a label, never ignored.
type SSHConnector struct {
	Signer ssh.Signer
	// DialTimeout bounds one TCP dial plus handshake; default sshremote's.
	DialTimeout time.Duration
	// RetryInterval is how often WaitReady dials a booting manager;
	// default 1 s.
	RetryInterval time.Duration
}

var _ Connector = (*SSHConnector)(nil)

// NewSSHConnector parses a private key (OpenSSH or PEM). The error never
// holds the key.
func NewSSHConnector(privateKey []byte) (*SSHConnector, error) {
	signer, err := ssh.ParsePrivateKey(privateKey)
	if err != nil {
		if _, ok := err.(*ssh.PassphraseMissingError); ok {
			return nil, fmt.Errorf("the private key is encrypted with a passphrase: use a key without one for fleetctl")
		}
		return nil, fmt.Errorf("not an SSH private key")
	}
	return &SSHConnector{Signer: signer}, nil
}

// Connect dials the manager, waiting for it to accept SSH when wait is set.
func (c *SSHConnector) Connect(ctx context.Context, ep Endpoint, wait bool) (Files, error) {
	cfg := sshremote.Config{Addr: ep.Addr, User: ep.User, Signer: c.Signer, HostKeyFingerprint: ep.HostKeyFingerprint, Timeout: c.DialTimeout}
	var client *sshremote.Client
	var err error
	if wait {
		interval := c.RetryInterval
		if interval <= 0 {
			interval = time.Second
		}
		client, err = sshremote.WaitReady(ctx, cfg, interval)
	} else {
		client, err = sshremote.Dial(ctx, cfg)
	}
	if err != nil {
		// A nil *Client in the Files interface would not be nil, and
		// closing it would panic.
		return nil, err
	}
	return client, nil
}

// Package sshremote reaches a runner-manager over SSH with a verified host key
// and manages its files over SFTP: reads, atomic writes (temp file, fsync,
// chmod, rename, fresh mtime) and commands.
//
// Host keys are always verified against a recorded SHA-256 fingerprint (see
// HostKeyLabelValue); there is no way to skip the check. File contents never
// appear in errors: config.toml holds runner tokens.
package sshremote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// DefaultTimeout bounds one TCP dial plus SSH handshake when Config.Timeout
// is zero.
const DefaultTimeout = 15 * time.Second

// ErrAuthFailed is returned (wrapped) when the server's host key matched but
// it accepted none of the client's credentials.
var ErrAuthFailed = errors.New("the server refused the client key")

// ErrConnectionLost is wrapped by errors of a connection that was made but
// cannot serve files: the SFTP session could not start, as when the server
// is going down. It says nothing about the files themselves.
var ErrConnectionLost = errors.New("connection lost")

// Config says where a manager is and how to reach it.
type Config struct {
	// Addr is host:port.
	Addr string
	// User defaults to root.
	User string
	// Signer is the client key.
	Signer ssh.Signer
	// HostKeyFingerprint is the expected fingerprint of the server's host key
	// as HostKeyLabelValue writes it. OpenSSH's "SHA256:..." form and a bare
	// base64url digest are accepted too. Required: Dial refuses to connect
	// without it.
	HostKeyFingerprint string
	// Timeout bounds each TCP dial plus SSH handshake; DefaultTimeout when 0.
	Timeout time.Duration
}

// hostKeyAlgorithms prefers ed25519, the key type GenerateHostKey makes, so a
// server with several host keys presents the one that was recorded; the
// others stay allowed for servers whose only key is of another type.
// Certificates are left out: the fingerprint names a plain key.
var hostKeyAlgorithms = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256,
	ssh.KeyAlgoECDSA384,
	ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512,
	ssh.KeyAlgoRSASHA256,
}

// Client is an authenticated SSH connection to one server. Its methods may
// be called concurrently. Cancelling the context of any call closes the
// connection; the Client is unusable afterwards.
type Client struct {
	addr string
	ssh  *ssh.Client

	mu   sync.Mutex
	sftp *sftp.Client
}

// Dial connects to cfg.Addr, verifies the host key against
// cfg.HostKeyFingerprint and authenticates with cfg.Signer.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("ssh: no address")
	}
	if cfg.Signer == nil {
		return nil, fmt.Errorf("ssh %s: no client key", cfg.Addr)
	}
	if cfg.HostKeyFingerprint == "" {
		return nil, fmt.Errorf("ssh %s: no host key fingerprint to verify the server against", cfg.Addr)
	}
	want, err := normalizeFingerprint(cfg.HostKeyFingerprint)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, err)
	}
	user := cfg.User
	if user == "" {
		user = "root"
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	var hostKeyVerified atomic.Bool
	clientConfig := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(cfg.Signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if got := HostKeyLabelValue(key); got != want {
				return &HostKeyMismatchError{KeyType: key.Type(), Presented: got, Expected: want}
			}
			hostKeyVerified.Store(true)
			return nil
		},
		HostKeyAlgorithms: hostKeyAlgorithms,
		Timeout:           timeout,
	}

	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		if cause := contextEnded(ctx); cause != nil {
			return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, cause)
		}
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, err)
	}
	// The handshake has no context of its own: a deadline bounds it and
	// cancellation closes the socket under it.
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, cfg.Addr, clientConfig)
	cancelled := !stop()
	if err != nil {
		conn.Close()
		if cancelled {
			return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, context.Cause(ctx))
		}
		if hostKeyVerified.Load() && strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh %s: user %s: %w (%w)", cfg.Addr, user, ErrAuthFailed, err)
		}
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, err)
	}
	if cancelled {
		sshConn.Close()
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, context.Cause(ctx))
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		sshConn.Close()
		return nil, fmt.Errorf("ssh %s: %w", cfg.Addr, err)
	}
	return &Client{addr: cfg.Addr, ssh: ssh.NewClient(sshConn, chans, reqs)}, nil
}

// WaitReady dials until the server answers SSH, every interval, for as long
// as ctx allows: refused connections, timeouts and connections closed during
// the handshake (a booting server) are retried. A host key mismatch or a
// refused client key is returned at once, never retried.
func WaitReady(ctx context.Context, cfg Config, interval time.Duration) (*Client, error) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr error
	for {
		client, err := Dial(ctx, cfg)
		switch {
		case err == nil:
			return client, nil
		case errors.Is(err, ErrHostKeyMismatch) || errors.Is(err, ErrAuthFailed):
			return nil, err
		case contextEnded(ctx) != nil:
			if lastErr == nil {
				return nil, err
			}
			return nil, fmt.Errorf("ssh %s: waiting for SSH: %w (last attempt: %w)", cfg.Addr, contextEnded(ctx), lastErr)
		case !retryable(err):
			return nil, err
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: waiting for SSH: %w (last attempt: %w)", cfg.Addr, context.Cause(ctx), lastErr)
		case <-ticker.C:
		}
	}
}

// contextEnded returns why ctx ended, or nil. A deadline counts as soon as
// it has passed: the network stack enforces it itself and reports a plain
// timeout a moment before ctx.Err is set.
func contextEnded(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// retryable reports whether a failed Dial may succeed later without anything
// changing on the client's side.
func retryable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr), errors.As(err, &netErr):
		return true
	}
	// A server that accepts TCP but is not ready to speak SSH yet closes the
	// connection during the version exchange or key exchange.
	msg := err.Error()
	return strings.Contains(msg, "handshake failed") && !strings.Contains(msg, "no common algorithm")
}

// Close closes the SFTP session, if any, and the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.mu.Unlock()
	if err := c.ssh.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("ssh %s: close: %w", c.addr, err)
	}
	return nil
}

// watch closes the connection when ctx is done before the returned stop is
// called. stop reports whether ctx ended the call, and the error to return
// then.
func (c *Client) watch(ctx context.Context) (stop func() error) {
	stopAfter := context.AfterFunc(ctx, func() { c.ssh.Close() })
	return func() error {
		if !stopAfter() {
			return context.Cause(ctx)
		}
		return nil
	}
}

// sftpClient returns the connection's SFTP session, starting it on first use.
func (c *Client) sftpClient() (*sftp.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	client, err := sftp.NewClient(c.ssh, sftp.UseConcurrentWrites(true))
	if err != nil {
		return nil, fmt.Errorf("ssh %s: start sftp: %w (%w)", c.addr, err, ErrConnectionLost)
	}
	c.sftp = client
	return client, nil
}

// IsConnectionLost reports whether err is the loss of a connection that was
// made: the SFTP session could not start, or the connection dropped under a
// transfer or command. What was being done may or may not have happened;
// only an operation that is safe to repeat should be tried again.
func IsConnectionLost(err error) bool {
	return errors.Is(err, ErrConnectionLost) || errors.Is(err, sftp.ErrSSHFxConnectionLost) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

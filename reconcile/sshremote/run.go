package sshremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// maxStderrInError bounds how much of a failed command's stderr an error
// carries.
const maxStderrInError = 200

// Run executes command on the server and returns its output. A non-zero
// exit status is an error naming the status and the first line of stderr.
// Errors never contain stdout, nor the command, which the caller names
// when it wraps the error; callers must not run commands whose stderr could
// hold a secret.
func (c *Client) Run(ctx context.Context, command string) (stdout, stderr []byte, err error) {
	stop := c.watch(ctx)
	stdout, stderr, err = c.run(command)
	if cause := stop(); cause != nil {
		return nil, nil, fmt.Errorf("run: %w", cause)
	}
	return stdout, stderr, err
}

func (c *Client) run(command string) ([]byte, []byte, error) {
	session, err := c.ssh.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("run: open session on %s: %w", c.addr, err)
	}
	defer session.Close()
	var stdout, stderr bytes.Buffer
	session.Stdout = &stdout
	session.Stderr = &stderr
	err = session.Run(command)
	var exitErr *ssh.ExitError
	switch {
	case errors.As(err, &exitErr):
		msg := fmt.Sprintf("exit status %d", exitErr.ExitStatus())
		if exitErr.Signal() != "" {
			msg = "killed by signal " + exitErr.Signal()
		}
		if line := firstLine(stderr.String()); line != "" {
			msg += ": " + line
		}
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("run: %s", msg)
	case err != nil:
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("run: %w", err)
	}
	return stdout.Bytes(), stderr.Bytes(), nil
}

// firstLine returns the first non-empty line of s, shortened to
// maxStderrInError bytes.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > maxStderrInError {
			line = line[:maxStderrInError] + "…"
		}
		return line
	}
	return ""
}

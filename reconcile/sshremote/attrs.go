package sshremote

import (
	"context"
	"fmt"
	"io/fs"
	"path"

	"github.com/pkg/sftp"
)

// Chown sets the numeric owner and group of the file or directory at the
// absolute path p.
func (c *Client) Chown(ctx context.Context, p string, uid, gid int) error {
	return c.do(ctx, "chown", p, func(client *sftp.Client) error { return client.Chown(p, uid, gid) })
}

// Chmod sets the permission bits (with setuid, setgid and sticky) of the
// file or directory at the absolute path p.
func (c *Client) Chmod(ctx context.Context, p string, mode fs.FileMode) error {
	return c.do(ctx, "chmod", p, func(client *sftp.Client) error { return client.Chmod(p, mode) })
}

// RemoveDir removes the empty directory at the absolute path p; a directory
// that holds anything is left alone and is an error.
func (c *Client) RemoveDir(ctx context.Context, p string) error {
	return c.do(ctx, "remove directory", p, func(client *sftp.Client) error { return client.RemoveDirectory(p) })
}

// Rename renames the file or directory at the absolute path p to the
// absolute path to, which must not exist.
func (c *Client) Rename(ctx context.Context, p, to string) error {
	if !path.IsAbs(to) {
		return fmt.Errorf("rename %s: %s is not an absolute path", p, to)
	}
	return c.do(ctx, "rename", p, func(client *sftp.Client) error { return client.Rename(p, to) })
}

// do runs one SFTP operation on p under ctx, with errors that name op and p
// once.
func (c *Client) do(ctx context.Context, op, p string, f func(*sftp.Client) error) error {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return fmt.Errorf("%s %s: not a clean absolute path", op, p)
	}
	stop := c.watch(ctx)
	err := func() error {
		client, err := c.sftpClient()
		if err != nil {
			return err
		}
		return f(client)
	}()
	if cause := stop(); cause != nil {
		return fmt.Errorf("%s %s: %w", op, p, cause)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, p, err)
	}
	return nil
}

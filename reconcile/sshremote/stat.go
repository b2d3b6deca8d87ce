package sshremote

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"time"
)

// Stat returns what the server reports of the file at the absolute path p,
// following symbolic links, without opening it. SFTP reports modification
// times in whole seconds. When p does not exist the error wraps
// fs.ErrNotExist.
func (c *Client) Stat(ctx context.Context, p string) (fs.FileInfo, error) {
	if !path.IsAbs(p) {
		return nil, fmt.Errorf("stat %s: not an absolute path", p)
	}
	stop := c.watch(ctx)
	info, err := c.stat(p)
	if cause := stop(); cause != nil {
		return nil, fmt.Errorf("stat %s: %w", p, cause)
	}
	return info, err
}

func (c *Client) stat(p string) (fs.FileInfo, error) {
	client, err := c.sftpClient()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	info, err := client.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return info, nil
}

// Chtimes sets the access and modification times of the file at the
// absolute path p to mtime, truncated to whole seconds (all SFTP carries).
func (c *Client) Chtimes(ctx context.Context, p string, mtime time.Time) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("set times of %s: not an absolute path", p)
	}
	stop := c.watch(ctx)
	err := c.chtimes(p, mtime.Truncate(time.Second))
	if cause := stop(); cause != nil {
		return fmt.Errorf("set times of %s: %w", p, cause)
	}
	return err
}

func (c *Client) chtimes(p string, mtime time.Time) error {
	client, err := c.sftpClient()
	if err != nil {
		return fmt.Errorf("set times of %s: %w", p, err)
	}
	if err := client.Chtimes(p, mtime, mtime); err != nil {
		return fmt.Errorf("set times of %s: %w", p, err)
	}
	return nil
}

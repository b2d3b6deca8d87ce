package sshremote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

const (
	extensionPosixRename = "posix-rename@openssh.com"
	extensionFsync       = "fsync@openssh.com"
)

// WriteFile replaces the file at the absolute path p with data and mode,
// atomically: a reader of p sees the old file or the new one, never a part.
//
// Missing parent directories are created with mode 0700. The data goes to a
// temporary file in the same directory, which is chmodded to mode before any
// byte is written, flushed to disk (fsync@openssh.com, when the server offers
// it) and renamed over p with posix-rename@openssh.com (remove and rename
// only on servers without it). The new file's mtime is the server's time of
// the write, and always later than the replaced file's, so gitlab-runner
// notices the change. On any error the temporary file is removed and p is
// left as it was; temporary files of p that a killed writer left behind are
// removed by the next successful write.
func (c *Client) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("write %s: not a clean absolute file path", p)
	}
	stop := c.watch(ctx)
	err := c.writeFile(p, data, mode)
	if cause := stop(); cause != nil {
		return fmt.Errorf("write %s: %w", p, cause)
	}
	return err
}

func (c *Client) writeFile(p string, data []byte, mode fs.FileMode) error {
	client, err := c.sftpClient()
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return writeFileOver(client, p, data, mode)
}

// writeFileOver is WriteFile on an SFTP session.
func writeFileOver(client *sftp.Client, p string, data []byte, mode fs.FileMode) error {
	dir := path.Dir(p)
	if err := mkdirAll(client, dir); err != nil {
		return fmt.Errorf("write %s: create directory: %w", p, err)
	}

	suffix := make([]byte, 8)
	rand.Read(suffix)
	tmp := path.Join(dir, tempPrefix(p)+hex.EncodeToString(suffix))
	if err := writeTemp(client, tmp, data, mode); err != nil {
		client.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := outdate(client, tmp, p); err != nil {
		client.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := rename(client, tmp, p); err != nil {
		client.Remove(tmp)
		return fmt.Errorf("write %s: rename into place: %w", p, err)
	}
	removeStaleTemps(client, p)
	return nil
}

// tempPrefix is the name WriteFile's temporary files for p start with.
func tempPrefix(p string) string {
	return "." + path.Base(p) + ".tmp-"
}

// removeStaleTemps removes the temporary files that earlier writes of p left
// behind (a killed apply, a dropped connection), best effort: they may hold
// secrets and are never read. It runs once p has been replaced, so a rerun
// after a crash leaves the directory clean. A writer still busy at the same
// moment — two applies at once, which a CI resource_group rules out — loses
// its temporary file and fails loudly on its rename; it never corrupts p.
func removeStaleTemps(client *sftp.Client, p string) {
	dir := path.Dir(p)
	entries, err := client.ReadDir(dir)
	if err != nil {
		return
	}
	for _, entry := range entries {
		if strings.HasPrefix(entry.Name(), tempPrefix(p)) && entry.Mode().IsRegular() {
			client.Remove(path.Join(dir, entry.Name()))
		}
	}
}

// writeTemp creates tmp, which must not exist, and fills it with data.
func writeTemp(client *sftp.Client, tmp string, data []byte, mode fs.FileMode) error {
	f, err := client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	// The server creates the file with its umask's mode, often 0644: restrict
	// it before it holds anything.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write temporary file: %w", err)
	}
	if ext, ok := client.HasExtension(extensionFsync); ok && ext == "1" {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("fsync temporary file: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	return nil
}

// outdate makes sure the new file's mtime is later than the one it replaces:
// gitlab-runner reloads config.toml only when the mtime moves forward. The
// write itself gives tmp the server's current time, which suffices unless the
// old file's mtime lies in the future (clock steps, a manual touch); then tmp
// gets the next second after it. SFTP carries whole seconds only.
func outdate(client *sftp.Client, tmp, target string) error {
	old, err := client.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	written, err := client.Stat(tmp)
	if err != nil {
		return fmt.Errorf("stat temporary file: %w", err)
	}
	if !old.ModTime().After(written.ModTime()) {
		return nil
	}
	later := old.ModTime().Add(time.Second)
	if err := client.Chtimes(tmp, later, later); err != nil {
		return fmt.Errorf("set mtime of temporary file: %w", err)
	}
	return nil
}

// rename moves from over to, replacing to.
func rename(client *sftp.Client, from, to string) error {
	if _, ok := client.HasExtension(extensionPosixRename); ok {
		return client.PosixRename(from, to)
	}
	// Plain SFTP rename fails when the target exists, so there is a moment
	// without the file; servers without posix-rename leave no better way.
	if err := client.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return client.Rename(from, to)
}

// mkdirAll creates dir and its missing parents with mode 0700: a directory
// fleetctl has to create holds its root-only files.
func mkdirAll(client *sftp.Client, dir string) error {
	info, err := client.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s: not a directory", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", dir, err)
	}
	if parent := path.Dir(dir); parent != dir {
		if err := mkdirAll(client, parent); err != nil {
			return err
		}
	}
	if err := client.Mkdir(dir); err != nil {
		// Created meanwhile by someone else is fine.
		if info, statErr := client.Stat(dir); statErr == nil && info.IsDir() {
			return nil
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	// Mkdir applies the server's umask; the mode must not depend on it.
	if err := client.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("%s: chmod: %w", dir, err)
	}
	return nil
}

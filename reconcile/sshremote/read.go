package sshremote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/pkg/sftp"
)

// NotRegularError is ReadFile's error for a path that exists but is not a
// regular file: a directory, a symbolic link, a FIFO, a device or a socket.
type NotRegularError struct {
	Path string
	// Mode is the file's mode as the server reports it, type bits included.
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("read %s: %s, not a regular file", e.Path, DescribeType(e.Mode))
}

// TooLargeError is ReadFile's error for a file larger than the caller's
// limit. Size is the size the server reports, or, when the server reported
// less than it then sent, the number of bytes received before reading
// stopped.
type TooLargeError struct {
	Path  string
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("read %s: too large (%d bytes, at most %d are read)", e.Path, e.Size, e.Limit)
}

// DescribeType names a file's type with its mode as ls shows it, e.g.
// "a directory (drwxr-xr-x)".
func DescribeType(m fs.FileMode) string {
	var what string
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m.IsRegular():
		what = "a regular file"
	default:
		what = "a file of unknown type"
	}
	return fmt.Sprintf("%s (%s)", what, m)
}

// ReadFile returns the contents and attributes of the regular file at the
// absolute path p. It never follows a symbolic link at p and never reads
// more than limit bytes: a larger file is a *TooLargeError, whatever size
// the server reports, and a path that is no regular file a
// *NotRegularError, both without reading. The info is the open file's, so
// mode and owner belong to the content read. When p does not exist the
// error wraps fs.ErrNotExist.
func (c *Client) ReadFile(ctx context.Context, p string, limit int64) (data []byte, info fs.FileInfo, err error) {
	if !path.IsAbs(p) {
		return nil, nil, fmt.Errorf("read %s: not an absolute path", p)
	}
	stop := c.watch(ctx)
	data, info, err = c.readFile(p, limit)
	if cause := stop(); cause != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, cause)
	}
	return data, info, err
}

func (c *Client) readFile(p string, limit int64) ([]byte, fs.FileInfo, error) {
	client, err := c.sftpClient()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	// Lstat first: opening a FIFO would block, and a link is not the file
	// fleetctl wrote.
	linfo, err := client.Lstat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !linfo.Mode().IsRegular() {
		return nil, linfo, &NotRegularError{Path: p, Mode: linfo.Mode()}
	}
	if linfo.Size() > limit {
		return nil, linfo, &TooLargeError{Path: p, Size: linfo.Size(), Limit: limit}
	}
	f, err := client.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: stat: %w", p, err)
	}
	// Replaced between the two stats.
	if !info.Mode().IsRegular() {
		return nil, info, &NotRegularError{Path: p, Mode: info.Mode()}
	}
	if info.Size() > limit {
		return nil, info, &TooLargeError{Path: p, Size: info.Size(), Limit: limit}
	}
	// The reported size only sizes the first allocation, bounded by the
	// limit; what arrives is counted, never trusted.
	buf := &cappedBuffer{limit: limit, b: make([]byte, 0, min(info.Size(), limit)+1)}
	if _, err := f.WriteTo(buf); err != nil {
		if errors.Is(err, errOverLimit) {
			return nil, info, &TooLargeError{Path: p, Size: max(info.Size(), int64(len(buf.b))+1), Limit: limit}
		}
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	return buf.b, info, nil
}

var errOverLimit = errors.New("over the size limit")

// cappedBuffer collects at most limit bytes and fails the write that would
// exceed them.
type cappedBuffer struct {
	limit int64
	b     []byte
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if int64(len(c.b))+int64(len(p)) > c.limit {
		return 0, errOverLimit
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

// Owner returns the numeric owner and group of a file as the server
// reported them; ok is false for a FileInfo that carries none. (pkg/sftp
// keeps no record of whether the server sent them; OpenSSH always does.)
func Owner(info fs.FileInfo) (uid, gid int, ok bool) {
	if info == nil {
		return 0, 0, false
	}
	switch st := info.Sys().(type) {
	case *sftp.FileStat:
		return int(st.UID), int(st.GID), true
	case ownerInfo:
		return int(st.Uid()), int(st.Gid()), true
	}
	return 0, 0, false
}

// ownerInfo is how a FileInfo made by hand (a test's) carries its owner.
type ownerInfo interface {
	Uid() uint32
	Gid() uint32
}

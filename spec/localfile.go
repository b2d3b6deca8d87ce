package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by ReadLocalFile's error for a path that is not a
// regular file: a directory, a named pipe, a device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// ReadLocalFile reads a local input file (fleet.yaml, a secret file, a
// public key) of at most limit bytes. Anything but a regular file is
// refused at once: the file is opened without blocking, so a named pipe
// with no writer cannot hang the command, and its type is checked on the
// open file before anything is read. Errors do not name the file, so that
// the caller names it once, and never hold its content; a file over limit
// is refused with a *TooLargeError.
func ReadLocalFile(path string, limit int64) ([]byte, error) {
	file, info, err := OpenLocalFile(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if info.Size() > limit {
		return nil, &TooLargeError{Size: info.Size(), Limit: limit}
	}
	// Read one byte past the limit, so that a file that grows meanwhile
	// is refused without reading all of it.
	data, err := io.ReadAll(io.LimitReader(file, limit+1))
	if err != nil {
		return nil, pathlessError(err)
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Size: -1, Limit: limit}
	}
	return data, nil
}

// OpenLocalFile opens a local input file for reading as ReadLocalFile
// does: without blocking, and refused unless it is a regular file. Its
// errors do not name the file either.
func OpenLocalFile(path string) (*os.File, fs.FileInfo, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, pathlessError(err)
	}
	info, err := file.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%w but %s: give the path of a file", ErrNotRegular, fileKind(info.Mode()))
	}
	if err != nil {
		file.Close()
		return nil, nil, pathlessError(err)
	}
	return file, info, nil
}

// TooLargeError is ReadLocalFile's error for a file over its limit. Size is
// -1 when the file grew past the limit while it was read.
type TooLargeError struct {
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("larger than %d bytes, the limit for it", e.Limit)
	}
	return fmt.Sprintf("%d bytes, over the %d-byte limit for it", e.Size, e.Limit)
}

// fileKind names the type of a file that is not regular, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file (" + m.Type().String() + ")"
}

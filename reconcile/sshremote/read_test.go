package sshremote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesWhatIsNotARegularFile: a directory, a FIFO and a
// symbolic link are refused without being opened (a FIFO would block), and
// the error names the path once with the real type and mode.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := t.TempDir()

	directory := filepath.Join(dir, "config.toml")
	if err := os.Mkdir(directory, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(directory, 0o755)
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("not for fleetctl"), 0o600)
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		path, want string
		dir        bool
	}{
		{directory, "a directory (drwxr-xr-x), not a regular file", true},
		{fifo, "a named pipe (prw-------), not a regular file", false},
		{link, "a symbolic link (Lrwxrwxrwx), not a regular file", false},
	} {
		start := time.Now()
		data, info, err := client.ReadFile(t.Context(), tt.path, 1<<20)
		var notRegular *NotRegularError
		if !errors.As(err, &notRegular) || data != nil {
			t.Fatalf("ReadFile(%s) = %d bytes, %v; want a NotRegularError", tt.path, len(data), err)
		}
		if got := err.Error(); got != "read "+tt.path+": "+tt.want {
			t.Errorf("error = %q, want %q", got, "read "+tt.path+": "+tt.want)
		}
		if strings.Count(err.Error(), tt.path) != 1 {
			t.Errorf("error %q names the path more than once", err)
		}
		if info == nil || info.IsDir() != tt.dir {
			t.Errorf("info = %v, want the file's own attributes", info)
		}
		if d := time.Since(start); d > 30*time.Second { // a read that blocks never ends
			t.Errorf("ReadFile(%s) took %v", tt.path, d)
		}
	}
}

// TestReadFileNeverTrustsTheSize: a sparse 1 TiB config.toml (truncate -s 1T)
// is refused from its reported size, without allocating anything near it;
// a file of exactly the limit is read, one byte more is refused.
func TestReadFileNeverTrustsTheSize(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := t.TempDir()

	huge := filepath.Join(dir, "config.toml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = client.ReadFile(t.Context(), huge, 4<<20)
	runtime.ReadMemStats(&after)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Size != 1<<40 {
		t.Fatalf("ReadFile of a 1 TiB file: error = %v, want TooLargeError of %d bytes", err, int64(1<<40))
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("ReadFile of a 1 TiB file allocated %d bytes", grown)
	} else {
		t.Logf("ReadFile of a 1 TiB file: refused after allocating %d KiB", grown>>10)
	}
	if !strings.Contains(err.Error(), "1099511627776 bytes") {
		t.Errorf("error %q does not give the size", err)
	}

	exact := filepath.Join(dir, "exact")
	os.WriteFile(exact, make([]byte, 1000), 0o600)
	if data, _, err := client.ReadFile(t.Context(), exact, 1000); err != nil || len(data) != 1000 {
		t.Errorf("ReadFile of a file of exactly the limit = %d bytes, %v", len(data), err)
	}
	if _, _, err := client.ReadFile(t.Context(), exact, 999); !errors.As(err, &tooLarge) {
		t.Errorf("ReadFile over the limit: error = %v, want TooLargeError", err)
	}
}

// TestCappedBufferStopsAtTheLimit: a server that sends more than it reported
// is cut off at the limit.
func TestCappedBufferStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	b := &cappedBuffer{limit: 10}
	if _, err := b.Write(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(make([]byte, 5)); !errors.Is(err, errOverLimit) {
		t.Fatalf("write past the limit: %v, want errOverLimit", err)
	}
	if len(b.b) != 6 {
		t.Errorf("buffer holds %d bytes, want the 6 below the limit", len(b.b))
	}
}

// TestOwnerAndMode: owner and group as the server reports them, and Chown
// and Chmod set them back, on files and directories.
func TestOwnerAndMode(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("chown needs root")
	}
	server := startSSHD(t)
	client := server.dial(t)
	dir := filepath.Join(t.TempDir(), "gitlab-runner")
	os.Mkdir(dir, 0o700)
	file := filepath.Join(dir, "config.toml")
	os.WriteFile(file, []byte("concurrent = 1\n"), 0o600)
	for _, p := range []string{dir, file} {
		if err := os.Chown(p, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o777)

	_, info, err := client.ReadFile(t.Context(), file, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid, ok := Owner(info); !ok || uid != 1000 || gid != 1000 {
		t.Errorf("owner of the file = %d:%d (%v), want 1000:1000", uid, gid, ok)
	}
	dinfo, err := client.Stat(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid, _ := Owner(dinfo); uid != 1000 || gid != 1000 || dinfo.Mode().Perm() != 0o777 {
		t.Errorf("directory = %d:%d %v, want 1000:1000 0777", uid, gid, dinfo.Mode())
	}

	for _, p := range []string{dir, file} {
		if err := client.Chown(t.Context(), p, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Chmod(t.Context(), dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{dir: fs.ModeDir | 0o700, file: 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if sys.Uid != 0 || sys.Gid != 0 || st.Mode() != want {
			t.Errorf("%s = %d:%d %v, want 0:0 %v", p, sys.Uid, sys.Gid, st.Mode(), want)
		}
	}
}

// TestRemoveDirAndRename: RemoveDir removes only an empty directory;
// Rename moves one aside.
func TestRemoveDirAndRename(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := t.TempDir()
	empty, full := filepath.Join(dir, "empty"), filepath.Join(dir, "full")
	os.Mkdir(empty, 0o700)
	os.MkdirAll(filepath.Join(full, "kept"), 0o700)

	if err := client.RemoveDir(t.Context(), empty); err != nil {
		t.Fatalf("RemoveDir of an empty directory: %v", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory still there: %v", err)
	}
	if err := client.RemoveDir(t.Context(), full); err == nil {
		t.Fatal("RemoveDir of a directory with files in it succeeded")
	}
	if err := client.Rename(t.Context(), full, full+".aside"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(full+".aside", "kept")); err != nil {
		t.Errorf("renamed directory lost its contents: %v", err)
	}
}

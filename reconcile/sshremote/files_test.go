package sshremote

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dirEntries lists the names in dir, sorted.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)

	tests := []struct {
		name     string
		existing []byte // written first, with mode 0644 and an mtime an hour ago; nil for none
		path     string // relative to root
		data     []byte
		mode     fs.FileMode
	}{
		{name: "new file in a new directory tree", path: "etc/gitlab-runner/config.toml", data: []byte("concurrent = 4\n"), mode: 0o600},
		{name: "overwrite with a restricted mode", existing: []byte("old contents that are longer than the new ones\n"), path: "config.toml", data: []byte("new\n"), mode: 0o600},
		{name: "executable", path: "usr/local/bin/fleetctl", data: bytes.Repeat([]byte{0x7f, 'E', 'L', 'F'}, 1000), mode: 0o755},
		{name: "empty file", existing: []byte("something"), path: "empty", data: []byte{}, mode: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			target := filepath.Join(root, filepath.FromSlash(tt.path))
			if tt.existing != nil {
				if err := os.WriteFile(target, tt.existing, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(target, old, old); err != nil {
					t.Fatal(err)
				}
			}
			before := time.Now()

			if err := client.WriteFile(t.Context(), target, tt.data, tt.mode); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}

			got, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("file on disk holds %d bytes, want the %d written", len(got), len(tt.data))
			}
			info, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode() != tt.mode {
				t.Errorf("mode on disk = %v, want %v", info.Mode(), tt.mode)
			}
			// gitlab-runner reloads config.toml only when its mtime is newer.
			if mtime := info.ModTime(); mtime.Before(before.Add(-time.Second)) || mtime.After(time.Now().Add(time.Second)) {
				t.Errorf("mtime = %v, want the time of the write (between %v and now)", mtime, before)
			}
			if d := cmp.Diff([]string{filepath.Base(target)}, dirEntries(t, filepath.Dir(target))); d != "" {
				t.Errorf("directory holds other files than the target, a temporary file left? (-want +got):\n%s", d)
			}

			data, rinfo, err := client.ReadFile(t.Context(), target, int64(len(tt.data)))
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if mode := rinfo.Mode(); !bytes.Equal(data, tt.data) || mode != tt.mode {
				t.Errorf("ReadFile = %d bytes, mode %v; want %d bytes, mode %v", len(data), mode, len(tt.data), tt.mode)
			}
			if uid, gid, ok := Owner(rinfo); !ok || uid != os.Getuid() || gid != os.Getgid() {
				t.Errorf("ReadFile owner = %d:%d (reported %v), want %d:%d", uid, gid, ok, os.Getuid(), os.Getgid())
			}

			// Directories it created are root's alone (0700), whatever the
			// server's umask.
			for dir := filepath.Dir(target); dir != root; dir = filepath.Dir(dir) {
				info, err := os.Stat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode() != fs.ModeDir|0o700 {
					t.Errorf("created directory %s has mode %v, want %v", dir, info.Mode(), fs.ModeDir|0o700)
				}
			}
		})
	}
}

// TestWriteFileProtocolSteps checks, in the SFTP server's own log, the steps
// that make a push safe: the temporary file is exclusive and restricted to
// its mode before any byte is written, flushed to disk, closed, and renamed
// over the target with posix-rename.
func TestWriteFileProtocolSteps(t *testing.T) {
	t.Parallel()
	requireSSHD(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	server := newTestSSHD(t, port)
	logPath := server.logSFTPRequests(t)
	if err := server.start(t); err != nil {
		t.Fatal(err)
	}
	client := server.dial(t)
	target := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFile(t.Context(), target, []byte("new contents\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	client.Close() // flushes the server's log

	var tmp string
	var steps []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile(logPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		steps = nil
		for line := range strings.Lines(string(raw)) {
			line = strings.TrimSpace(line)
			if tmp == "" {
				if _, rest, ok := strings.Cut(line, `open "`); ok && strings.Contains(rest, ".config.toml.tmp-") {
					tmp, _, _ = strings.Cut(rest, `"`)
				}
			}
			if tmp == "" || !strings.Contains(line, `"`+tmp+`"`) {
				continue
			}
			switch {
			case strings.HasPrefix(line, "open "):
				_, flags, _ := strings.Cut(line, " flags ")
				steps = append(steps, "open "+flags)
			case strings.HasPrefix(line, "set "), strings.HasPrefix(line, "fsync "), strings.HasPrefix(line, "close "):
				steps = append(steps, strings.Replace(line, `"`+tmp+`"`, "TMP", 1))
			case strings.Contains(line, ": write "):
				steps = append(steps, "write")
			case strings.HasPrefix(line, "posix-rename "), strings.HasPrefix(line, "rename "):
				steps = append(steps, strings.NewReplacer(`"`+tmp+`"`, "TMP", `"`+target+`"`, "TARGET").Replace(line))
			}
		}
		if len(steps) > 0 && strings.HasPrefix(steps[len(steps)-1], "posix-rename") || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []string{
		"open WRITE,CREATE,EXCL mode 0666",
		"set TMP mode 0600",
		"write",
		"fsync TMP",
		"close TMP bytes read 0 written 13",
		"posix-rename old TMP new TARGET",
	}
	if d := cmp.Diff(want, steps); d != "" {
		t.Errorf("SFTP requests on the temporary file (-want +got):\n%s", d)
	}
}

// TestWriteFileMovesAFutureMtimeForward replaces a file whose mtime lies in
// the future: gitlab-runner reloads only when the mtime moves forward.
func TestWriteFileMovesAFutureMtimeForward(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	target := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := os.Chtimes(target, future, future); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFile(t.Context(), target, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().After(future) {
		t.Errorf("mtime = %v, want after the replaced file's %v", info.ModTime(), future)
	}
}

// TestWriteFileRemovesStaleTemps checks that temporary files killed writes
// left behind, old or recent, go with the next write of the same file, and
// that those of other files stay.
func TestWriteFileRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, ".config.toml.tmp-0123456789abcdef")
	fresh := filepath.Join(dir, ".config.toml.tmp-fedcba9876543210")
	other := filepath.Join(dir, ".other.toml.tmp-0123456789abcdef")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("token = \"partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFile(t.Context(), filepath.Join(dir, "config.toml"), []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Base(other), "config.toml"}
	if d := cmp.Diff(want, dirEntries(t, dir)); d != "" {
		t.Errorf("directory after the write (-want +got):\n%s", d)
	}
}

func TestWriteFileKeepsAnExistingParentsMode(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFile(t.Context(), filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("existing parent's mode = %v, want it left at 0700", info.Mode().Perm())
	}
}

// TestWriteFileIsAtomic writes 1 MiB files over and over while another SFTP
// session reads the path as fast as it can: every read must see one whole
// version, never a mix, a truncated file or no file.
func TestWriteFileIsAtomic(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	writer := server.dial(t)
	reader := server.dial(t)
	target := filepath.Join(t.TempDir(), "config.toml")

	versions := make([][]byte, 2)
	for i := range versions {
		versions[i] = make([]byte, 1<<20)
		rand.Read(versions[i])
	}
	if err := writer.WriteFile(t.Context(), target, versions[0], 0o600); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	// check records whether data is one whole version.
	check := func(data []byte, err error, reads, sawSecond *atomic.Int64) error {
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(data, versions[0]):
		case bytes.Equal(data, versions[1]):
			sawSecond.Add(1)
		default:
			return fmt.Errorf("read %d bytes that are neither version: a partial write was visible", len(data))
		}
		reads.Add(1)
		return nil
	}
	var sftpReads, sftpSawSecond, localReads, localSawSecond atomic.Int64
	var sftpErr, localErr error
	wg.Go(func() {
		for !stop.Load() && sftpErr == nil {
			data, _, err := reader.ReadFile(t.Context(), target, 8<<20)
			sftpErr = check(data, err, &sftpReads, &sftpSawSecond)
		}
	})
	// A local reader polls far faster than SFTP can and so catches short
	// windows too (no file, a truncated one).
	wg.Go(func() {
		for !stop.Load() && localErr == nil {
			data, err := os.ReadFile(target)
			localErr = check(data, err, &localReads, &localSawSecond)
		}
	})
	writes := 0
	// The deadline is generous: under -race on a loaded machine an SFTP read
	// of 1 MiB can take a second.
	for deadline := time.Now().Add(60 * time.Second); writes < 4 || sftpReads.Load() < 5 || localSawSecond.Load() == 0 || sftpSawSecond.Load() == 0; writes++ {
		if time.Now().After(deadline) {
			break
		}
		if err := writer.WriteFile(t.Context(), target, versions[(writes+1)%2], 0o600); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if sftpErr != nil {
		t.Fatalf("concurrent SFTP reader: %v", sftpErr)
	}
	if localErr != nil {
		t.Fatalf("concurrent local reader: %v", localErr)
	}
	if sftpReads.Load() < 5 || sftpSawSecond.Load() == 0 || localSawSecond.Load() == 0 {
		t.Fatalf("%d writes, %d SFTP reads (%d of the second version), %d local reads (%d of the second version): too few to check anything",
			writes, sftpReads.Load(), sftpSawSecond.Load(), localReads.Load(), localSawSecond.Load())
	}
	t.Logf("%d writes of 1 MiB; %d SFTP and %d local concurrent reads, all whole", writes, sftpReads.Load(), localReads.Load())
	if d := cmp.Diff([]string{"config.toml"}, dirEntries(t, filepath.Dir(target))); d != "" {
		t.Errorf("temporary files left behind (-want +got):\n%s", d)
	}
}

func TestReadFileOfAbsentFile(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	_, _, err := client.ReadFile(t.Context(), filepath.Join(t.TempDir(), "absent.toml"), 1<<20)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of an absent file: error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "absent.toml") {
		t.Errorf("error %q does not name the path", err)
	}
}

// TestWriteFileErrorHoldsNoContents makes the final rename fail (a directory
// sits at the target) and checks the error does not carry the token written,
// the target is unchanged and no temporary file is left.
func TestWriteFileErrorHoldsNoContents(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "config.toml")
	if err := os.MkdirAll(filepath.Join(target, "occupied"), 0o755); err != nil {
		t.Fatal(err)
	}
	const token = "glrt-t3_KnownSecretTokenValue0123456789"
	data := []byte("[[runners]]\n  token = \"" + token + "\"\n")

	err := client.WriteFile(t.Context(), target, data, 0o600)
	if err == nil {
		t.Fatal("WriteFile over a directory succeeded, want an error")
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "KnownSecret") {
		t.Fatalf("error reveals the file's contents: %v", err)
	}
	if !strings.Contains(err.Error(), target) {
		t.Errorf("error %q does not name the target", err)
	}
	if d := cmp.Diff([]string{"config.toml"}, dirEntries(t, dir)); d != "" {
		t.Errorf("temporary file left behind after a failed write (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"occupied"}, dirEntries(t, target)); d != "" {
		t.Errorf("the directory at the target changed (-want +got):\n%s", d)
	}
}

func TestWriteFileRejectsRelativePaths(t *testing.T) {
	t.Parallel()
	server := startSSHD(t)
	client := server.dial(t)
	for _, p := range []string{"config.toml", "/etc/../etc/x", "/", ""} {
		if err := client.WriteFile(t.Context(), p, []byte("x"), 0o600); err == nil {
			t.Errorf("WriteFile(%q) succeeded, want an error", p)
		}
	}
}

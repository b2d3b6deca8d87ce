package sshhost

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
)

// uidGID is the owner an SFTP client was told.
func uidGID(t *testing.T, info fs.FileInfo) (uint32, uint32) {
	t.Helper()
	st, ok := info.Sys().(*sftp.FileStat)
	if !ok {
		t.Fatalf("%s: no SFTP attributes", info.Name())
	}
	return st.UID, st.GID
}

// TestSFTPOwnership: the host reports owners over SFTP as a server would,
// with the simulator's own user as root, and a chown over SFTP reaches the
// file: a config.toml chowned by hand shows as its owner, and chown back to
// 0:0 gives it back to root.
func TestSFTPOwnership(t *testing.T) {
	t.Parallel()
	th := startTestHost(t)
	client := th.sftp(t)
	if err := client.MkdirAll("/etc/gitlab-runner"); err != nil {
		t.Fatal(err)
	}
	f, err := client.Create("/etc/gitlab-runner/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	local := filepath.Join(th.root, "etc", "gitlab-runner", "config.toml")

	owner := func(p string, lstat bool) (uint32, uint32) {
		t.Helper()
		info, err := client.Stat(p)
		if lstat {
			info, err = client.Lstat(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return uidGID(t, info)
	}
	if uid, gid := owner("/etc/gitlab-runner/config.toml", false); uid != 0 || gid != 0 {
		t.Errorf("a file the server's root created is owned by %d:%d, want 0:0", uid, gid)
	}
	if os.Getuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	if err := os.Chown(local, 1000, 1001); err != nil {
		t.Fatal(err)
	}
	for _, lstat := range []bool{false, true} {
		if uid, gid := owner("/etc/gitlab-runner/config.toml", lstat); uid != 1000 || gid != 1001 {
			t.Errorf("chowned file (lstat %v) reported as %d:%d, want 1000:1001", lstat, uid, gid)
		}
	}
	entries, err := client.ReadDir("/etc/gitlab-runner")
	if err != nil || len(entries) != 1 {
		t.Fatalf("readdir: %v, %v", entries, err)
	}
	if uid, gid := uidGID(t, entries[0]); uid != 1000 || gid != 1001 {
		t.Errorf("listing reports %d:%d, want 1000:1001", uid, gid)
	}
	if err := client.Chown("/etc/gitlab-runner/config.toml", 0, 0); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(local)
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
		t.Errorf("after chown 0:0 over SFTP the file is %d:%d", st.Uid, st.Gid)
	}
}

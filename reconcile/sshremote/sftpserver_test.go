package sshremote

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pkg/sftp"
)

// pipeSFTP connects an SFTP client to github.com/pkg/sftp's server in
// process: the server the Hetzner simulator's hosts run, which offers
// posix-rename but not fsync.
func pipeSFTP(t *testing.T) *sftp.Client {
	t.Helper()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	server, err := sftp.NewServer(struct {
		io.Reader
		io.WriteCloser
	}{toServer, fromServer})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { server.Serve(); close(served) }()
	client, err := sftp.NewClientPipe(toClient, fromClient)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server.Close() // ends the client's reads
		client.Close() // ends the server's reads
		<-served
	})
	return client
}

// TestWriteFileOnOtherServers pushes through servers that lack fsync and,
// in one case, posix-rename, where the old file is removed before the rename.
// Not parallel: the extensions pkg/sftp's server offers are a package
// variable.
func TestWriteFileOnOtherServers(t *testing.T) {
	tests := []struct {
		name       string
		extensions []string // nil for pkg/sftp's defaults
	}{
		{name: "pkg/sftp server"},
		{name: "no posix-rename", extensions: []string{"statvfs@openssh.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.extensions != nil {
				if err := sftp.SetSFTPExtensions(tt.extensions...); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					sftp.SetSFTPExtensions("hardlink@openssh.com", "posix-rename@openssh.com", "statvfs@openssh.com")
				})
			}
			client := pipeSFTP(t)
			if _, ok := client.HasExtension(extensionPosixRename); ok == (tt.extensions != nil) {
				t.Fatalf("server offers posix-rename: %v, want %v", ok, tt.extensions == nil)
			}
			dir := t.TempDir()
			target := filepath.Join(dir, "etc", "config.toml")
			for i, data := range [][]byte{[]byte("first version\n"), []byte("second\n")} {
				if err := writeFileOver(client, target, data, 0o600); err != nil {
					t.Fatalf("write %d: %v", i+1, err)
				}
				got, err := os.ReadFile(target)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("write %d: file holds %q, want %q", i+1, got, data)
				}
				info, err := os.Stat(target)
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode() != 0o600 {
					t.Errorf("write %d: mode %v, want 0600", i+1, info.Mode())
				}
			}
			if d := cmp.Diff([]string{"config.toml"}, dirEntries(t, filepath.Dir(target))); d != "" {
				t.Errorf("temporary files left behind (-want +got):\n%s", d)
			}
		})
	}
}

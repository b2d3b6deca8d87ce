package sshhost

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// openSSHClient prepares the real OpenSSH client against a test host: a key file, a
// known_hosts file with the host's key, and the options that use them.
func openSSHClient(t *testing.T, th *testHost, tool string) (binary string, options []string) {
	t.Helper()
	binary, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("OpenSSH %s not installed: %v", tool, err)
	}
	dir := t.TempDir()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(th.Addr(), ":")
	knownHosts := filepath.Join(dir, "known_hosts")
	line := "[" + host + "]:" + port + " " + string(ssh.MarshalAuthorizedKey(th.hostKey.PublicKey()))
	if err := os.WriteFile(knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	th.SetAuthorized([]ssh.PublicKey{signer.PublicKey()})
	options = []string{
		"-F", "none",
		"-i", keyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=5",
	}
	if tool == "sftp" {
		return binary, append(options, "-P", port)
	}
	return binary, append(options, "-p", port)
}

func TestOpenSSHSFTPBatchUpload(t *testing.T) {
	t.Parallel()
	th := startTestHost(t)
	binary, options := openSSHClient(t, th, "sftp")
	host, _, _ := strings.Cut(th.Addr(), ":")

	local := t.TempDir()
	config := filepath.Join(local, "config.toml")
	if err := os.WriteFile(config, []byte("concurrent = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(local, "script.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho setup\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(th.root, "etc", "gitlab-runner", "config.toml")
	if err := os.MkdirAll(filepath.Dir(existing), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(existing, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(local, "batch")
	commands := strings.Join([]string{
		"-mkdir /etc",
		"-mkdir /etc/gitlab-runner",
		"put -f " + config + " /etc/gitlab-runner/config.toml.tmp",
		"chmod 600 /etc/gitlab-runner/config.toml.tmp",
		"rename /etc/gitlab-runner/config.toml.tmp /etc/gitlab-runner/config.toml",
		"mkdir /opt",
		"put " + script + " /opt/setup.sh",
		"ls -l /etc/gitlab-runner",
		"df /",
	}, "\n") + "\n"
	if err := os.WriteFile(batch, []byte(commands), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, append(options, "-b", batch, "root@"+host)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sftp -b: %v\n%s", err, out)
	}
	t.Logf("sftp output:\n%s", out)

	got, err := os.ReadFile(existing)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("concurrent = 2\n", string(got)); d != "" {
		t.Errorf("config.toml (-want +got):\n%s", d)
	}
	modes := map[string]os.FileMode{}
	for _, name := range []string{"etc/gitlab-runner/config.toml", "opt/setup.sh"} {
		info, err := os.Stat(filepath.Join(th.root, name))
		if err != nil {
			t.Fatal(err)
		}
		modes[name] = info.Mode().Perm()
	}
	want := map[string]os.FileMode{
		"etc/gitlab-runner/config.toml": 0o600,
		"opt/setup.sh":                  0o750, // the mode sftp put requests on open
	}
	if d := cmp.Diff(want, modes); d != "" {
		t.Errorf("modes (-want +got):\n%s", d)
	}
}

func TestOpenSSHExec(t *testing.T) {
	t.Parallel()
	th := startTestHost(t)
	binary, options := openSSHClient(t, th, "ssh")
	host, _, _ := strings.Cut(th.Addr(), ":")

	cmd := exec.Command(binary, append(options, "root@"+host, "echo hi")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, stderr.String())
	}
	if string(out) != "hi\n" || stderr.String() != "" {
		t.Errorf("ssh echo hi: stdout %q stderr %q, want \"hi\\n\" and nothing", out, stderr.String())
	}

	err = exec.Command(binary, append(options, "root@"+host, "systemctl restart gitlab-runner; exit 7")...).Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Errorf("ssh exit 7: %v", err)
	}
	calls := th.Calls()
	if len(calls) != 3 || calls[1].ExitStatus != 7 || calls[2].Command != "systemctl" {
		t.Errorf("calls = %+v, want echo, the exit 7 command and its systemctl call", calls)
	}
}

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// homeWithKey returns a home directory holding ~/.ssh/id_ed25519.pub, the
// public_key_file the examples name.
func homeWithKey(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), newPublicKey(t, "me@laptop"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

func newPublicKey(t *testing.T, comment string) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	return []byte(line + " " + comment + "\n")
}

// TestValidatePublicKeyFiles: validate reads public_key_file as plan will
// and reports what plan would refuse at the field's position, exit 1; a
// file that is not here is a warning, since validate may run where the key
// is not.
func TestValidatePublicKeyFiles(t *testing.T) {
	setTokens(t)
	example, err := os.ReadFile(tutorialExample)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "public_key_file: ~/.ssh/id_ed25519.pub") {
		t.Fatal("the tutorial example no longer reads ~/.ssh/id_ed25519.pub")
	}
	dir := t.TempDir()
	key := newPublicKey(t, "dev")
	files := map[string][]byte{
		"good.pub":    key,
		"private.pub": []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"),
		"two.pub":     append(append([]byte{}, key...), newPublicKey(t, "other")...),
		"garbage.pub": []byte("hello\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withKey := func(keyFile string) string {
		text := strings.Replace(string(example), "public_key_file: ~/.ssh/id_ed25519.pub", "public_key_file: "+keyFile, 1)
		p := filepath.Join(t.TempDir(), "fleet.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pos := posOf(t, string(example), "public_key_file: ", "~/.ssh/id_ed25519.pub")
	for _, tc := range []struct {
		name, keyFile string
		code          int
		want          string
	}{
		{"a public key", filepath.Join(dir, "good.pub"), exitOK, ""},
		{"missing here", filepath.Join(dir, "absent.pub"), exitOK, "warning: ssh_keys[0].public_key_file: " + filepath.Join(dir, "absent.pub") + " does not exist here"},
		{"a private key", filepath.Join(dir, "private.pub"), exitError, "ssh_keys[0].public_key_file: public key file " + filepath.Join(dir, "private.pub") + " holds a private key"},
		{"two keys", filepath.Join(dir, "two.pub"), exitError, "holds more than one key"},
		{"not a key", filepath.Join(dir, "garbage.pub"), exitError, "is not an OpenSSH public key"},
		{"a directory", dir, exitError, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := withKey(tc.keyFile)
			got := runCLI(t, "validate", "-f", path)
			if got.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", got.code, tc.code, got.stderr)
			}
			if tc.want != "" && !hasLine(got.stderr, path+":"+pos+": ", tc.want) {
				t.Errorf("stderr has no line at %s saying %q:\n%s", pos, tc.want, got.stderr)
			}
			if tc.code == exitError && got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			if strings.Contains(got.stderr, "OPENSSH PRIVATE KEY") || strings.Contains(got.stderr, "b3BlbnNzaC1rZXktdjEAAAAA") {
				t.Errorf("stderr quotes the private key:\n%s", got.stderr)
			}
		})
	}
}

// hasLine reports whether text has a line that starts with prefix and
// holds want.
func hasLine(text, prefix, want string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, want) {
			return true
		}
	}
	return false
}

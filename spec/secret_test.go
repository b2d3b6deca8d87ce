package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	knownRunnerToken = "glrt-KnownSecretValue-9f8e7d6c5b4a"
	knownHCloudToken = "hcloud-KnownSecretValue-0123456789abcdefghijklmnopqrstuvwxyz0123456789ab"
)

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(knownRunnerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	twoLines := filepath.Join(dir, "two")
	if err := os.WriteFile(twoLines, []byte("a\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "hcloud-token"), []byte(knownHCloudToken), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNNER_TOKEN", knownRunnerToken)
	t.Setenv("EMPTY_TOKEN", "")
	t.Setenv("NEWLINE_TOKEN", knownRunnerToken+"\n")
	t.Setenv("CRLF_TOKEN", knownRunnerToken+"\r\n")
	t.Setenv("NEWLINE_ONLY", "\n")
	t.Setenv("TWO_NEWLINES_TOKEN", knownRunnerToken+"\n\n")
	t.Setenv("SPLIT_TOKEN", knownRunnerToken+"\nextra")
	t.Setenv("ESCAPE_TOKEN", knownRunnerToken+"\x1b[0m")
	t.Setenv("TAB_TOKEN", "\t"+knownRunnerToken)
	t.Setenv("LATIN1_TOKEN", knownRunnerToken+"\xe9")
	os.Unsetenv("MISSING_TOKEN")

	for _, tc := range []struct {
		name      string
		secret    Secret
		want      string
		wantError string
	}{
		{name: "env", secret: Secret{Env: "RUNNER_TOKEN"}, want: knownRunnerToken},
		{name: "env unset", secret: Secret{Env: "MISSING_TOKEN"}, wantError: "environment variable MISSING_TOKEN is not set"},
		{name: "env empty", secret: Secret{Env: "EMPTY_TOKEN"}, wantError: "environment variable EMPTY_TOKEN is set but empty"},
		{name: "env strips one newline", secret: Secret{Env: "NEWLINE_TOKEN"}, want: knownRunnerToken},
		{name: "env strips one CRLF", secret: Secret{Env: "CRLF_TOKEN"}, want: knownRunnerToken},
		{name: "env only a newline", secret: Secret{Env: "NEWLINE_ONLY"}, wantError: "environment variable NEWLINE_ONLY holds only a line break: set the value itself"},
		{name: "env two newlines", secret: Secret{Env: "TWO_NEWLINES_TOKEN"},
			wantError: "environment variable TWO_NEWLINES_TOKEN holds a line break inside the value (one at the end is dropped): a token is one line; check how it is set"},
		{name: "env newline inside", secret: Secret{Env: "SPLIT_TOKEN"},
			wantError: "environment variable SPLIT_TOKEN holds a line break inside the value (one at the end is dropped): a token is one line; check how it is set"},
		{name: "env escape", secret: Secret{Env: "ESCAPE_TOKEN"},
			wantError: "environment variable ESCAPE_TOKEN holds the control character U+001B: a secret is printable text; check how it is set"},
		{name: "env tab", secret: Secret{Env: "TAB_TOKEN"},
			wantError: "environment variable TAB_TOKEN holds the control character U+0009: a secret is printable text; check how it is set"},
		{name: "env not UTF-8", secret: Secret{Env: "LATIN1_TOKEN"}, wantError: "environment variable LATIN1_TOKEN is not UTF-8 text: is this the right value?"},
		{name: "file strips one newline", secret: Secret{File: tokenFile}, want: knownRunnerToken},
		{name: "file with two newlines", secret: Secret{File: twoLines},
			wantError: "secret file " + twoLines + " holds a line break inside the value (one at the end is dropped): a token is one line; check how it is set"},
		{name: "file under home", secret: Secret{File: "~/hcloud-token"}, want: knownHCloudToken},
		{name: "file missing", secret: Secret{File: filepath.Join(dir, "nope")}, wantError: "secret file " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "file empty", secret: Secret{File: empty}, wantError: "secret file " + empty + " is empty"},
		{name: "file is a directory", secret: Secret{File: dir}, wantError: "secret file " + dir + ": not a regular file but a directory: give the path of a file"},
		{name: "neither", secret: Secret{}, wantError: "secret is not set: write {env: NAME} or {file: PATH}"},
		{name: "both", secret: Secret{Env: "RUNNER_TOKEN", File: tokenFile}, wantError: "secret sets both env and file: keep one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.secret.Resolve()
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError {
					t.Fatalf("Resolve() error = %v, want %q", err, tc.wantError)
				}
				if got != "" {
					t.Errorf("Resolve() returned a value with an error")
				}
				for _, secret := range []string{knownRunnerToken, knownHCloudToken} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error contains the secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(): %v", err)
			}
			if got != tc.want {
				t.Errorf("Resolve() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSecretResolveText checks that a private key keeps its line breaks,
// loses one trailing one as a token does, and is still refused with other
// control characters.
func TestSecretResolveText(t *testing.T) {
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
	t.Setenv("SSH_PRIVATE_KEY", key+"\n")
	got, err := Secret{Env: "SSH_PRIVATE_KEY"}.ResolveText()
	if err != nil || got != key {
		t.Fatalf("ResolveText() = %q, %v; want the key without its last newline", got, err)
	}
	if _, err := (Secret{Env: "SSH_PRIVATE_KEY"}).Resolve(); err == nil {
		t.Errorf("Resolve() accepted a value of several lines")
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, []byte(key+"\x00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Secret{File: file}.ResolveText()
	if want := "secret file " + file + " holds the control character U+0000: a secret is printable text; check how it is set"; err == nil || err.Error() != want {
		t.Errorf("ResolveText() of a key with a NUL: error = %v, want %q", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "b3BlbnNzaC1rZXktdjEAAAAA") {
		t.Errorf("error shows the key: %v", err)
	}
}

func TestSecretString(t *testing.T) {
	t.Setenv("RUNNER_TOKEN", knownRunnerToken)
	for _, tc := range []struct {
		secret Secret
		want   string
	}{
		{Secret{Env: "RUNNER_TOKEN"}, "env RUNNER_TOKEN"},
		{Secret{File: "~/.ssh/id_ed25519"}, "file ~/.ssh/id_ed25519"},
		{Secret{}, "unset secret"},
	} {
		if got := tc.secret.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.secret, got, tc.want)
		}
	}
}

// TestProblemsNeverHoldSecrets loads every invalid file with known secret
// values in the environment, and files where a literal secret was written,
// and checks that no error shows them.
func TestProblemsNeverHoldSecrets(t *testing.T) {
	t.Setenv("RUNNER_TOKEN", knownRunnerToken)
	t.Setenv("HCLOUD_TOKEN", knownHCloudToken)
	literals := []string{
		knownRunnerToken, knownHCloudToken,
		// Written literally in testdata/invalid-token-*.yaml and invalid-hcloud-token-literal.yaml.
		"glrt-t3stT0kenValue1234567", "hcloudT0kenValueThatMustNotLeak",
	}
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	examples, _ := filepath.Glob("../examples/*/*.yaml")
	for _, path := range append(files, examples...) {
		_, err := Load(path)
		if err == nil {
			continue
		}
		for _, secret := range literals {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error shows a secret: %v", path, err)
			}
		}
	}
	// A literal in every place a secret goes.
	for _, field := range []string{"hcloud:\n  token: %s\n", "manager:\n  ssh:\n    private_key: %s\n"} {
		data := strings.Replace(string(mustRead(t, "testdata/valid-minimal.yaml")), "manager:\n", strings.Replace(field, "%s", knownHCloudToken, 1)+"manager:\n", 1)
		if strings.HasPrefix(field, "manager:") {
			data = strings.Replace(string(mustRead(t, "testdata/valid-minimal.yaml")), "  location: hel1\ngitlab", "  location: hel1\n  ssh:\n    private_key: "+knownHCloudToken+"\ngitlab", 1)
		}
		_, err := Parse("fleet.yaml", []byte(data))
		if err == nil {
			t.Fatalf("a literal secret was accepted:\n%s", data)
		}
		if strings.Contains(err.Error(), knownHCloudToken) {
			t.Errorf("error shows the literal secret: %v", err)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPublicKeyValue(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7DOIUT/4B/ILKUh6ZsXiHbTdVRBytSlaLwvHfhbrHu dev@laptop"
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		key       SSHKey
		want      string
		wantError string
	}{
		{name: "inline", key: SSHKey{Name: "dev", PublicKey: key}, want: key},
		{name: "file under home", key: SSHKey{Name: "dev", PublicKeyFile: "~/.ssh/id_ed25519.pub"}, want: key},
		{name: "missing file", key: SSHKey{Name: "dev", PublicKeyFile: "~/.ssh/nope.pub"},
			wantError: "ssh key dev: public key file " + filepath.Join(home, ".ssh", "nope.pub") + ": no such file or directory"},
		{name: "private key file", key: SSHKey{Name: "dev", PublicKeyFile: "~/.ssh/id_ed25519"},
			wantError: "ssh key dev: public key file " + filepath.Join(home, ".ssh", "id_ed25519") + " holds a private key: use the public key, the .pub file next to it"},
		{name: "not a key", key: SSHKey{Name: "dev", PublicKey: "ssh-ed25519 garbage"},
			wantError: "ssh key dev: public_key is not an OpenSSH public key: use the .pub file, e.g. ~/.ssh/id_ed25519.pub"},
		{name: "neither", key: SSHKey{Name: "dev"}, wantError: "ssh key dev: neither public_key nor public_key_file is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.key.PublicKeyValue()
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError {
					t.Fatalf("error = %v, want %q", err, tc.wantError)
				}
				if strings.Contains(err.Error(), "b3BlbnNzaC1rZXktdjEAAAAA") {
					t.Errorf("error shows private key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExpandHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for in, want := range map[string]string{
		"~":                  home,
		"~/.ssh/id_ed25519":  filepath.Join(home, ".ssh/id_ed25519"),
		"/etc/fleet.yaml":    "/etc/fleet.yaml",
		"relative/path":      "relative/path",
		"~other/.ssh/id_rsa": "~other/.ssh/id_rsa",
	} {
		got, err := ExpandHome(in)
		if err != nil || got != want {
			t.Errorf("ExpandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

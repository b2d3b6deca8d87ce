package sshremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// hetznerLabelValue is the rule Hetzner's API documents for label values.
var hetznerLabelValue = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?)?$`)

func TestHostKeyLabelValueIsAValidHetznerLabelValue(t *testing.T) {
	t.Parallel()
	// About one digest in 32 starts with '-' or '_' in base64url; 500 keys
	// find such a digest with near certainty.
	for range 500 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		got := HostKeyLabelValue(key)
		if !hetznerLabelValue.MatchString(got) {
			t.Fatalf("HostKeyLabelValue = %q (%d chars), not a valid Hetzner label value", got, len(got))
		}
		// The same digest OpenSSH prints, in the URL-safe alphabet.
		openssh := strings.TrimPrefix(ssh.FingerprintSHA256(key), "SHA256:")
		want := "sha256-" + strings.NewReplacer("+", "-", "/", "_").Replace(openssh)
		if got != want {
			t.Fatalf("HostKeyLabelValue = %q, want %q (OpenSSH prints %s)", got, want, ssh.FingerprintSHA256(key))
		}
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "label value", in: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4", want: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4"},
		{name: "bare base64url digest", in: "AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4", want: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4"},
		{name: "as OpenSSH prints it", in: "SHA256:AbtgSpt5mqGgsiXE2Q+m7ax8BHVki3QJkMe/OooSrC4", want: "sha256-AbtgSpt5mqGgsiXE2Q-m7ax8BHVki3QJkMe_OooSrC4"},
		{name: "too short", in: "sha256-AbtgSpt5mqGgsiXE2Q", wantErr: true},
		{name: "MD5 form", in: "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", wantErr: true},
		{name: "not base64", in: "sha256-!!!!", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalizeFingerprint(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("normalizeFingerprint(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("normalizeFingerprint(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestGenerateHostKey(t *testing.T) {
	t.Parallel()
	privatePEM, public, err := GenerateHostKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(privatePEM), "-----BEGIN OPENSSH PRIVATE KEY-----\n") {
		t.Errorf("private key is not in OpenSSH PEM format:\n%.40s", privatePEM)
	}
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		t.Fatalf("parse generated private key: %v", err)
	}
	if d := cmp.Diff(string(public.Marshal()), string(signer.PublicKey().Marshal())); d != "" {
		t.Errorf("public key does not belong to the private key (-returned +derived):\n%s", d)
	}
	if public.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want %s", public.Type(), ssh.KeyAlgoED25519)
	}
	// sshd itself loading the key is tested by every test that starts one.
}

package sshremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrHostKeyMismatch is returned (wrapped) by Dial and WaitReady when the
// server presents a host key whose fingerprint differs from
// Config.HostKeyFingerprint. The connection is closed during key exchange,
// before the client authenticates or sends anything else.
var ErrHostKeyMismatch = errors.New("host key does not match the recorded fingerprint")

// HostKeyMismatchError says which host key the server presented and which
// was expected, both as HostKeyLabelValue writes them. It is
// ErrHostKeyMismatch for errors.Is.
type HostKeyMismatchError struct {
	// KeyType is the presented key's type, e.g. "ssh-ed25519".
	KeyType   string
	Presented string
	Expected  string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("%v: the server presented %s %s, expected %s", ErrHostKeyMismatch, e.KeyType, e.Presented, e.Expected)
}

// Is makes errors.Is(err, ErrHostKeyMismatch) hold.
func (e *HostKeyMismatchError) Is(target error) bool { return target == ErrHostKeyMismatch }

// hostKeyLabelPrefix makes the label value start with a letter: Hetzner
// label values must begin and end with an alphanumeric character, and a bare
// base64url digest begins with '-' or '_' for one key in 32.
const hostKeyLabelPrefix = "sha256-"

// HostKeyLabelValue returns the fingerprint of a host key in a form that is a
// valid Hetzner label value: "sha256-" followed by the base64url encoding
// (without padding) of the SHA-256 digest of the key's wire form, 50
// characters in all. It names the same digest as OpenSSH's
// "SHA256:..." fingerprint, in the URL-safe alphabet.
func HostKeyLabelValue(pub ssh.PublicKey) string {
	sum := sha256.Sum256(pub.Marshal())
	return hostKeyLabelPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// normalizeFingerprint accepts a fingerprint as HostKeyLabelValue writes it,
// as OpenSSH prints it ("SHA256:" and standard base64 without padding), or as
// a bare base64url digest, and returns the HostKeyLabelValue form.
func normalizeFingerprint(fingerprint string) (string, error) {
	digest, ok := strings.CutPrefix(fingerprint, hostKeyLabelPrefix)
	if !ok {
		if openssh, isOpenSSH := strings.CutPrefix(fingerprint, "SHA256:"); isOpenSSH {
			digest = strings.NewReplacer("+", "-", "/", "_").Replace(openssh)
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(digest)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("host key fingerprint %q is not a SHA-256 fingerprint (want %s<43 base64url characters>)", fingerprint, hostKeyLabelPrefix)
	}
	return hostKeyLabelPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// GenerateHostKey creates an ed25519 host key. privatePEM is the private key
// in OpenSSH's PEM format ("OPENSSH PRIVATE KEY", unencrypted), which is what
// sshd reads from /etc/ssh/ssh_host_ed25519_key and what cloud-init's
// ssh_keys.ed25519_private expects; public is its public half, to be recorded
// with HostKeyLabelValue.
func GenerateHostKey() (privatePEM []byte, public ssh.PublicKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, fmt.Errorf("encode ed25519 host key: %w", err)
	}
	public, err = ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode ed25519 host public key: %w", err)
	}
	return pem.EncodeToMemory(block), public, nil
}

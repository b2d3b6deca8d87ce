package sshhost

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// userDataKey is a host key as fleetctl would put it into cloud-init: the private key as
// OpenSSH PEM and the public key in authorized_keys format.
type userDataKey struct {
	signer  ssh.Signer
	private string
	public  string
}

func newUserDataKey(t *testing.T, private any) userDataKey {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	return userDataKey{
		signer:  signer,
		private: string(pem.EncodeToMemory(block)),
		public:  strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
	}
}

// indent prefixes every line of s, for YAML block scalars.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}

func fingerprints[T any](items []T, key func(T) ssh.PublicKey) []string {
	var out []string
	for _, item := range items {
		out = append(out, ssh.FingerprintSHA256(key(item)))
	}
	return out
}

func TestParseUserData(t *testing.T) {
	t.Parallel()
	_, edPrivate, _ := ed25519.GenerateKey(rand.Reader)
	ed := newUserDataKey(t, edPrivate)
	ecPrivate, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := newUserDataKey(t, ecPrivate)
	rsaPrivate, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := newUserDataKey(t, rsaPrivate)
	// cloud-init also takes PKCS#1 PEM for RSA, as older tools write it.
	rsaPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaPrivate)}))
	alice, bob, carol := newClientKey(t), newClientKey(t), newClientKey(t)
	authorizedLine := func(s ssh.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}

	tests := []struct {
		name           string
		userData       string
		wantHostKeys   []string
		wantAuthorized []string
		wantErr        string
	}{
		{
			name:     "shell script",
			userData: "#!/bin/sh\necho ssh_keys: >/tmp/x\n",
		},
		{
			name: "empty",
		},
		{
			name:     "cloud-config without keys",
			userData: "#cloud-config\npackages: [curl]\n",
		},
		{
			name: "host keys in preference order and every authorized key",
			userData: "#cloud-config\n" +
				"ssh_keys:\n" +
				"  rsa_private: |\n" + indent(rsaKey.private, "    ") + "\n" +
				"  rsa_public: " + rsaKey.public + "\n" +
				"  ed25519_private: |\n" + indent(ed.private, "    ") + "\n" +
				"  ed25519_public: " + ed.public + "\n" +
				"  ecdsa_private: |\n" + indent(ec.private, "    ") + "\n" +
				"ssh_authorized_keys:\n" +
				"  - " + authorizedLine(alice) + " alice@laptop\n" +
				"users:\n" +
				"  - default\n" +
				"  - name: runner\n" +
				"    sudo: ALL=(ALL) NOPASSWD:ALL\n" +
				"    ssh_authorized_keys:\n" +
				"      - " + authorizedLine(bob) + "\n" +
				"      - command=\"/bin/true\",no-pty " + authorizedLine(carol) + "\n" +
				"  - name: nobody-with-keys\n",
			wantHostKeys:   fingerprints([]ssh.Signer{ed.signer, ec.signer, rsaKey.signer}, ssh.Signer.PublicKey),
			wantAuthorized: fingerprints([]ssh.Signer{alice, bob, carol}, ssh.Signer.PublicKey),
		},
		{
			name:         "PKCS#1 RSA host key",
			userData:     "#cloud-config\nssh_keys:\n  rsa_private: |\n" + indent(rsaPKCS1, "    ") + "\n",
			wantHostKeys: fingerprints([]ssh.Signer{rsaKey.signer}, ssh.Signer.PublicKey),
		},
		{
			name:           "users as a plain string",
			userData:       "#cloud-config\nusers: default\nssh_authorized_keys: [\"" + authorizedLine(alice) + "\"]\n",
			wantAuthorized: fingerprints([]ssh.Signer{alice}, ssh.Signer.PublicKey),
		},
		{
			name:     "broken private key",
			userData: "#cloud-config\nssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    AAAA\n    -----END OPENSSH PRIVATE KEY-----\n",
			wantErr:  "user_data: ssh_keys.ed25519_private: ",
		},
		{
			name: "public key not matching the private key",
			userData: "#cloud-config\nssh_keys:\n  ed25519_private: |\n" + indent(ed.private, "    ") + "\n" +
				"  ed25519_public: " + authorizedLine(alice) + "\n",
			wantErr: "user_data: ssh_keys.ed25519_public: does not match the private key",
		},
		{
			name:     "broken authorized key",
			userData: "#cloud-config\nusers:\n  - name: root\n    ssh_authorized_keys: [\"ssh-ed25519 garbage\"]\n",
			wantErr:  "user_data: users[0].ssh_authorized_keys[0]: ",
		},
		{
			name:     "invalid YAML",
			userData: "#cloud-config\nssh_authorized_keys: [\n",
			wantErr:  "user_data: yaml: line",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hostKeys, authorized, err := ParseUserData(tc.userData)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one starting %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("error quotes key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantHostKeys, fingerprints(hostKeys, ssh.Signer.PublicKey)); d != "" {
				t.Errorf("host keys (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantAuthorized, fingerprints(authorized, func(k ssh.PublicKey) ssh.PublicKey { return k })); d != "" {
				t.Errorf("authorized keys (-want +got):\n%s", d)
			}
		})
	}
}

func TestHostPresentsUserDataHostKey(t *testing.T) {
	t.Parallel()
	_, edPrivate, _ := ed25519.GenerateKey(rand.Reader)
	hostKey := newUserDataKey(t, edPrivate)
	client := newClientKey(t)
	userData := "#cloud-config\n" +
		"ssh_keys:\n  ed25519_private: |\n" + indent(hostKey.private, "    ") + "\n" +
		"  ed25519_public: " + hostKey.public + "\n" +
		"users:\n  - default\n  - name: root\n    ssh_authorized_keys:\n      - " +
		strings.TrimSpace(string(ssh.MarshalAuthorizedKey(client.PublicKey()))) + "\n"
	hostKeys, authorized, err := ParseUserData(userData)
	if err != nil {
		t.Fatal(err)
	}
	host, err := Start(Config{Addr: "127.0.0.2:0", Root: t.TempDir(), HostKeys: hostKeys, Authorized: authorized})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	var seen []string
	conn, err := ssh.Dial("tcp", host.Addr(), &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(client)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = append(seen, ssh.FingerprintSHA256(key))
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if d := cmp.Diff([]string{ssh.FingerprintSHA256(hostKey.signer.PublicKey())}, seen); d != "" {
		t.Errorf("host key fingerprints seen (-want +got):\n%s", d)
	}
}

func TestStableHostKey(t *testing.T) {
	t.Parallel()
	a1, a2, b := StableHostKey("server-1"), StableHostKey("server-1"), StableHostKey("server-2")
	if ssh.FingerprintSHA256(a1.PublicKey()) != ssh.FingerprintSHA256(a2.PublicKey()) {
		t.Error("the same seed gave different keys")
	}
	if ssh.FingerprintSHA256(a1.PublicKey()) == ssh.FingerprintSHA256(b.PublicKey()) {
		t.Error("different seeds gave the same key")
	}
	if a1.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", a1.PublicKey().Type())
	}
}

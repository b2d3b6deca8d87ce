package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// HostKey is the runner-manager's SSH host key. fleetctl generates it when it
// creates the server and hands it in through cloud-init, because Hetzner's API
// exposes no host keys: knowing the key up front is what lets every later SSH
// connection be verified.
type HostKey struct {
	// PrivateKey is an ed25519 private key in OpenSSH PEM format
	// ("-----BEGIN OPENSSH PRIVATE KEY-----" …). It is a secret.
	PrivateKey string
	// PublicKey is the matching public key in authorized_keys format
	// ("ssh-ed25519 AAAA…").
	PublicKey string
}

// MaskedHostKey stands in for the host key where none exists yet (a preview
// before the server is created) or where it must not be shown. It has the
// shape of a real key, so the cloud-init around it is the one a real key
// gets.
var MaskedHostKey = HostKey{
	PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"<masked: generated when the server is created>\n" +
		"-----END OPENSSH PRIVATE KEY-----\n",
	PublicKey: "ssh-ed25519 <generated-when-the-server-is-created>",
}

const (
	pemBegin = "-----BEGIN OPENSSH PRIVATE KEY-----"
	pemEnd   = "-----END OPENSSH PRIVATE KEY-----"
)

func (k HostKey) check() error {
	priv := strings.TrimSpace(k.PrivateKey)
	if !strings.HasPrefix(priv, pemBegin) || !strings.HasSuffix(priv, pemEnd) {
		return fmt.Errorf("host key: the private key is not in OpenSSH PEM format")
	}
	if strings.ContainsAny(k.PublicKey, "\r\n") || !strings.HasPrefix(k.PublicKey, "ssh-ed25519 ") {
		return fmt.Errorf("host key: the public key is not one ssh-ed25519 authorized_keys line")
	}
	return nil
}

// GitLab's package repository and the fingerprint of the key that signs its
// metadata ("GitLab B.V. (package repository signing key)").
const (
	gitlabRunnerRepo    = "https://packages.gitlab.com/runner/gitlab-runner"
	gitlabRepoKeyID     = "F6403F6544A38863DAA0B6E03F01618A51312F3F"
	gitlabRepoKeyserver = "keyserver.ubuntu.com"
)

// aptDistribution is the repository path for the manager's image: GitLab
// publishes one tree per distribution, with a suite per release codename
// (cloud-init fills in $RELEASE).
func aptDistribution(image string) (string, error) {
	name := strings.ToLower(image)
	switch {
	case strings.HasPrefix(name, "ubuntu"):
		return "ubuntu", nil
	case strings.HasPrefix(name, "debian"):
		return "debian", nil
	}
	for _, rpm := range []string{"centos", "rocky", "alma", "fedora", "opensuse", "rhel"} {
		if strings.HasPrefix(name, rpm) {
			return "", &FieldError{Path: "manager.image", Err: fmt.Errorf("%q: the manager installs gitlab-runner with apt; use a Debian or Ubuntu image such as debian-12", image)}
		}
	}
	// An image ID or a snapshot: Debian, as the tutorial.
	return "debian", nil
}

// ManagerCloudInit renders the runner-manager's cloud-init user data: it
// installs gitlab-runner from GitLab's apt repository as the tutorial's Step
// 2.1 does (with the repository's signing key pinned by fingerprint instead
// of curl | bash), installs hostKey as the server's only SSH host key, and
// creates the root-only directories apply pushes config.toml and the
// fleet.yaml copy into. The same fleet and key give the same bytes.
func ManagerCloudInit(f *spec.Fleet, hostKey HostKey) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("render cloud-init: no fleet")
	}
	if err := hostKey.check(); err != nil {
		return nil, fmt.Errorf("render cloud-init: %w", err)
	}
	dist, err := aptDistribution(f.Manager.Image)
	if err != nil {
		return nil, fmt.Errorf("render cloud-init: %w", err)
	}
	// Fixed directories, not derived from manager.spec_path: changing user
	// data means replacing the server, and apply creates any other directory
	// itself.
	dirs := []string{path.Dir(spec.DefaultSpecPath), path.Dir(spec.DefaultConfigPath)}

	var b strings.Builder
	b.WriteString(`#cloud-config
# The runner-manager of a fleetctl fleet: gitlab-runner from GitLab's apt
# repository, fleetctl's pinned SSH host key, and the root-only directories
# that fleetctl apply pushes config.toml and fleet.yaml into.

# The host key fleetctl generated and recorded; no other is created, so
# every SSH connection fleetctl makes can be verified against it.
ssh_deletekeys: true
ssh_genkeytypes: []
ssh_keys:
  ed25519_private: |
`)
	for _, line := range strings.Split(strings.TrimSpace(hostKey.PrivateKey), "\n") {
		b.WriteString("    " + strings.TrimRight(line, "\r") + "\n")
	}
	fmt.Fprintf(&b, "  ed25519_public: %s\n", yamlString(hostKey.PublicKey))
	b.WriteString(`ssh_pwauth: false

# Before anything else runs, on every boot: mkdir leaves an existing
# directory's mode alone and makes a new one 0700.
bootcmd:
`)
	for _, dir := range dirs {
		fmt.Fprintf(&b, "  - [mkdir, -p, -m, \"0700\", %s]\n", yamlString(dir))
	}
	fmt.Fprintf(&b, `
# GitLab's packages win over any the distribution ships under the same name.
write_files:
  - path: /etc/apt/preferences.d/pin-gitlab-runner.pref
    permissions: "0644"
    content: |
      Explanation: Prefer GitLab provided packages over the distribution's own
      Package: gitlab-runner gitlab-runner-helper-images
      Pin: origin packages.gitlab.com
      Pin-Priority: 1001

package_update: true
package_upgrade: true

apt:
  sources:
    gitlab-runner.list:
      source: deb [signed-by=$KEY_FILE] %s/%s/ $RELEASE main
      keyid: %s
      keyserver: %s

packages:
  - ca-certificates
  - gitlab-runner
  # apply pushes files over SFTP; Debian and Ubuntu images usually ship it.
  - openssh-sftp-server
`, gitlabRunnerRepo, dist, gitlabRepoKeyID, gitlabRepoKeyserver)
	return []byte(b.String()), nil
}

// ManagerCloudInitDigest is a digest of the manager's cloud-init that leaves
// the host key out: it changes exactly when something else in the user data
// does. It is 32 lowercase hex characters, so it fits a Hetzner label value;
// Hetzner's API never returns user data, so a label is how a later plan can
// tell that the running server was created from other user data.
func ManagerCloudInitDigest(f *spec.Fleet) (string, error) {
	data, err := ManagerCloudInit(f, MaskedHostKey)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16]), nil
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's string syntax is
// a subset of it).
func yamlString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

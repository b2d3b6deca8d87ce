package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	yaml "sigs.k8s.io/yaml/goyaml.v3"

	"github.com/fleetctl/fleetctl/spec"
)

// testHostKey is a throwaway key made for these tests only.
var testHostKey = HostKey{
	PrivateKey: `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACD2FnrxCKPlxp/Fy77U/ubqbIiC/nsqcW5ri7gUul+5JQAAAKBGtH2RRrR9
kQAAAAtzc2gtZWQyNTUxOQAAACD2FnrxCKPlxp/Fy77U/ubqbIiC/nsqcW5ri7gUul+5JQ
AAAEDqU+Dey8kztbBCyMlJVoHVEdiV7sii6q8z6ozn9THgnvYWevEIo+XGn8XLvtT+5ups
iIL+eypxbmuLuBS6X7klAAAAFmZsZWV0Y3RsLXRlc3QtaG9zdC1rZXkBAgMEBQYH
-----END OPENSSH PRIVATE KEY-----
`,
	PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPYWevEIo+XGn8XLvtT+5upsiIL+eypxbmuLuBS6X7kl fleetctl-test-host-key",
}

func TestManagerCloudInitGolden(t *testing.T) {
	t.Parallel()
	ubuntu := tutorialFleet("fleetctl")
	ubuntu.Manager.Image = "ubuntu-24.04"
	tests := []struct {
		golden string
		fleet  *spec.Fleet
		key    HostKey
	}{
		{"manager-cloud-init.yaml", tutorialFleet("fleetctl"), testHostKey},
		{"manager-cloud-init-masked.yaml", tutorialFleet("fleetctl"), MaskedHostKey},
		{"manager-cloud-init-ubuntu.yaml", ubuntu, testHostKey},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			got, err := ManagerCloudInit(tt.fleet, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
			again, err := ManagerCloudInit(tt.fleet, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Error("two renders of the same fleet and key differ")
			}
		})
	}
}

// cloud-init reads the user data as YAML: the values it sees are the ones
// fleetctl means.
func TestManagerCloudInitParses(t *testing.T) {
	t.Parallel()
	got, err := ManagerCloudInit(tutorialFleet("fleetctl"), testHostKey)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(got, &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	want := map[string]any{
		"ssh_deletekeys":  true,
		"ssh_genkeytypes": []any{},
		"ssh_keys": map[string]any{
			"ed25519_private": testHostKey.PrivateKey,
			"ed25519_public":  testHostKey.PublicKey,
		},
		"ssh_pwauth": false,
		"bootcmd": []any{
			[]any{"mkdir", "-p", "-m", "0700", "/etc/fleetctl"},
			[]any{"mkdir", "-p", "-m", "0700", "/etc/gitlab-runner"},
		},
		"write_files": []any{map[string]any{
			"path":        "/etc/apt/preferences.d/pin-gitlab-runner.pref",
			"permissions": "0644",
			"content": "Explanation: Prefer GitLab provided packages over the distribution's own\n" +
				"Package: gitlab-runner gitlab-runner-helper-images\n" +
				"Pin: origin packages.gitlab.com\n" +
				"Pin-Priority: 1001\n",
		}},
		"package_update":  true,
		"package_upgrade": true,
		"apt": map[string]any{"sources": map[string]any{"gitlab-runner.list": map[string]any{
			"source":    "deb [signed-by=$KEY_FILE] https://packages.gitlab.com/runner/gitlab-runner/debian/ $RELEASE main",
			"keyid":     "F6403F6544A38863DAA0B6E03F01618A51312F3F",
			"keyserver": "keyserver.ubuntu.com",
		}}},
		"packages": []any{"ca-certificates", "gitlab-runner", "openssh-sftp-server"},
	}
	if d := cmp.Diff(want, doc); d != "" {
		t.Errorf("cloud-init as YAML (-want +got):\n%s", d)
	}
	// sshd can use the key cloud-init writes, and it is the announced one.
	keys := doc["ssh_keys"].(map[string]any)
	signer, err := ssh.ParsePrivateKey([]byte(keys["ed25519_private"].(string)))
	if err != nil {
		t.Fatalf("ed25519_private: %v", err)
	}
	announced, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys["ed25519_public"].(string)))
	if err != nil {
		t.Fatalf("ed25519_public: %v", err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), announced.Marshal()) {
		t.Error("ed25519_public is not the public half of ed25519_private")
	}
}

// What the manager needs from its cloud-init, checked on the text a server
// receives.
func TestManagerCloudInitContent(t *testing.T) {
	t.Parallel()
	got, err := ManagerCloudInit(tutorialFleet("fleetctl"), testHostKey)
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	if !strings.HasPrefix(text, "#cloud-config\n") {
		t.Error("does not start with #cloud-config")
	}
	for _, want := range []string{
		"\nssh_deletekeys: true\n",
		"\nssh_genkeytypes: []\n",
		"  ed25519_public: \"" + testHostKey.PublicKey + "\"\n",
		"source: deb [signed-by=$KEY_FILE] https://packages.gitlab.com/runner/gitlab-runner/debian/ $RELEASE main\n",
		"keyid: F6403F6544A38863DAA0B6E03F01618A51312F3F\n",
		"\n  - gitlab-runner\n",
		"  - [mkdir, -p, -m, \"0700\", \"/etc/fleetctl\"]\n",
		"  - [mkdir, -p, -m, \"0700\", \"/etc/gitlab-runner\"]\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	// The private key lands line for line in a literal block.
	var block []string
	for _, line := range strings.Split(strings.TrimSpace(testHostKey.PrivateKey), "\n") {
		block = append(block, "    "+line)
	}
	if !strings.Contains(text, "  ed25519_private: |\n"+strings.Join(block, "\n")+"\n  ed25519_public:") {
		t.Error("the private host key is not written as a literal block")
	}
}

func TestManagerCloudInitDigest(t *testing.T) {
	t.Parallel()
	base, err := ManagerCloudInitDigest(tutorialFleet("fleetctl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 32 || strings.Trim(base, "0123456789abcdef") != "" {
		t.Errorf("digest %q is not 32 lowercase hex characters", base)
	}
	// Things that do not change the user data keep the digest.
	same := tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest")
	same.Manager.Name = "renamed-manager"
	same.Manager.ServerType = "cpx31"
	same.Manager.SpecPath = "/srv/fleet.yaml"
	same.GitLabRunner.Concurrent = 99
	if d, _ := ManagerCloudInitDigest(same); d != base {
		t.Errorf("digest changed for a change that leaves the user data alone: %s != %s", d, base)
	}
	// The host key is left out of the digest, by construction.
	withKey, _ := ManagerCloudInit(tutorialFleet("fleetctl"), testHostKey)
	masked, _ := ManagerCloudInit(tutorialFleet("fleetctl"), MaskedHostKey)
	if string(withKey) == string(masked) {
		t.Error("the host key does not reach the cloud-init")
	}
	// Another distribution is other user data.
	ubuntu := tutorialFleet("fleetctl")
	ubuntu.Manager.Image = "ubuntu-24.04"
	if d, _ := ManagerCloudInitDigest(ubuntu); d == base {
		t.Error("digest did not change with the distribution")
	}
}

func TestManagerCloudInitErrors(t *testing.T) {
	t.Parallel()
	rocky := tutorialFleet("fleetctl")
	rocky.Manager.Image = "rocky-9"
	tests := []struct {
		name  string
		fleet *spec.Fleet
		key   HostKey
		want  string
	}{
		{"no fleet", nil, testHostKey, "render cloud-init: no fleet"},
		{"rpm image", rocky, testHostKey, `render cloud-init: manager.image: "rocky-9": the manager installs gitlab-runner with apt; use a Debian or Ubuntu image such as debian-12`},
		{"no key", tutorialFleet(""), HostKey{}, "render cloud-init: host key: the private key is not in OpenSSH PEM format"},
		{"rsa public key", tutorialFleet(""), HostKey{PrivateKey: testHostKey.PrivateKey, PublicKey: "ssh-rsa AAAA"}, "render cloud-init: host key: the public key is not one ssh-ed25519 authorized_keys line"},
		{"two public lines", tutorialFleet(""), HostKey{PrivateKey: testHostKey.PrivateKey, PublicKey: testHostKey.PublicKey + "\nssh-ed25519 AAAA"}, "render cloud-init: host key: the public key is not one ssh-ed25519 authorized_keys line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := ManagerCloudInit(tt.fleet, tt.key)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if d := cmp.Diff(tt.want, err.Error()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if strings.Contains(err.Error(), "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ") {
				t.Error("the error holds the private key")
			}
		})
	}
}

func TestManagerCloudInitMaskedHoldsNoKey(t *testing.T) {
	t.Parallel()
	got, err := ManagerCloudInit(tutorialFleet("fleetctl"), MaskedHostKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "<masked: generated when the server is created>") {
		t.Error("masked cloud-init does not say where the key goes")
	}
}

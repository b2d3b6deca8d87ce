package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

const desiredFleet = `version: 1
name: ci
ssh_keys:
  - {name: dev, public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzQmxNnKOmpiOuC0VYTB1lrtbb8mmZAnpCmHRq1r6Ri dev"}
firewalls:
  - name: runner
    rules:
      - {direction: in, protocol: tcp, port: "22", source_ips: ["2001:DB8:0::/32"]}
    apply_to: [{label_selector: runner}]
manager:
  name: runner-manager
  server_type: SERVER_TYPE
  image: debian-12
  location: hel1
  ssh_keys: [dev]
  ssh: {private_key: {env: FLEETCTL_TEST_UNSET_SSH_KEY}}
gitlab_runner:
  concurrent: 1
  runners:
    - name: r
      url: https://gitlab.com
      token: {env: FLEETCTL_TEST_UNSET_RUNNER_TOKEN}
      docker: {image: alpine}
      autoscaler:
        capacity_per_instance: 1
        max_instances: 1
        instances: {name: i, location: hel1, server_type: cpx21, image: debian-12}
`

func loadDesiredFleet(t *testing.T, serverType string) *spec.Fleet {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(path, []byte(strings.Replace(desiredFleet, "SERVER_TYPE", serverType, 1)), 0o600)
	f, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewDesired(t *testing.T) {
	t.Parallel()
	f := loadDesiredFleet(t, "cpx11")
	secret := func(s spec.Secret) (string, error) {
		if s.Env == "HCLOUD_TOKEN" {
			return "tok", nil
		}
		return s.Resolve()
	}
	d, err := NewDesired(f, DesiredOptions{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Firewalls[0].Rules[0].SourceIPs; !cmp.Equal(got, []string{"2001:db8::/32"}) {
		t.Errorf("CIDR not canonical as Hetzner returns it: %v", got)
	}
	var addrs []Addr
	for _, f := range d.Files {
		addrs = append(addrs, f.Addr)
	}
	if diff := cmp.Diff([]Addr{AddrConfigDir, AddrFleetYAMLDir, AddrStateDir, AddrBinary, AddrFleetYAML, AddrConfigTOML}, addrs); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if len(d.Notes) != 1 || d.Notes[0].Subject != "gitlab_runner.runners[0].token" || !d.Notes[0].Blocking ||
		!strings.Contains(d.Notes[0].Message, "FLEETCTL_TEST_UNSET_RUNNER_TOKEN") {
		t.Errorf("notes %+v, want one about the runner token", d.Notes)
	}
	for _, label := range []string{LabelUserData, LabelSSHKeys, spec.LabelFleet, spec.LabelRole} {
		if d.Manager.Labels[label] == "" {
			t.Errorf("manager label %s missing: %v", label, d.Manager.Labels)
		}
	}
	ud, hostKey, err := d.userData()
	if err != nil || !strings.HasPrefix(hostKey, "sha256-") || !strings.Contains(string(ud), "ssh_keys") {
		t.Errorf("user data: %v, host key %q", err, hostKey)
	}
	d2, _ := NewDesired(f, DesiredOptions{Secret: secret})
	if d.Fingerprint() != d2.Fingerprint() {
		t.Error("desired fingerprint is not deterministic")
	}
}

func TestPluginBinaryArchitecture(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is this machine's build; a cax (Arm64) manager needs
	// another one.
	want := map[string]string{"amd64": "x86", "arm64": "arm"}[elfArchOrSkip(t, exe)]
	other := map[string]string{"x86": "cax11", "arm": "cpx11"}[want]
	df, err := pluginBinary("", DesiredServer{ServerType: other, Architecture: serverTypeArchitecture(other)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(df.NotManagedReason, "--plugin-binary") || df.Content != nil || df.Source != "" {
		t.Errorf("reason %q", df.NotManagedReason)
	}
	notELF := filepath.Join(t.TempDir(), "fleetctl")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if _, err := pluginBinary(notELF, DesiredServer{ServerType: "cpx11", Architecture: "x86"}); err == nil || !strings.Contains(err.Error(), "--plugin-binary") {
		t.Errorf("a non-ELF --plugin-binary: %v", err)
	}
}

func elfArchOrSkip(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arch, err := elfArchitecture(f)
	if err != nil {
		t.Skipf("test binary: %v", err)
	}
	return arch
}

// TestPluginBinaryIsReadOnlyToBeWritten: the desired state holds the plugin
// binary's path, size and digest, not its bytes (plan needs only the
// digest); writing it reads exactly the file's bytes, and refuses a file
// that changed since it was planned.
func TestPluginBinaryIsReadOnlyToBeWritten(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	arch := elfArchOrSkip(t, exe)
	serverType := map[string]string{"amd64": "cpx11", "arm64": "cax11"}[arch]
	exeBytes, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// Padded past any read buffer, so that a partial hash would show.
	content := append(exeBytes, make([]byte, 3<<20+17)...)
	bin := filepath.Join(t.TempDir(), "fleetctl")
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	m := DesiredServer{ServerType: serverType, Architecture: serverTypeArchitecture(serverType)}
	df, err := pluginBinary(bin, m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	got := struct {
		Content         []byte
		Source, SHA256  string
		Size, WriteSize int64
		NotManaged      string
	}{df.Content, df.Source, df.SHA256(), df.Size, df.ContentSize(), df.NotManagedReason}
	want := got
	want.Content, want.Source, want.SHA256, want.Size, want.WriteSize, want.NotManaged = nil, bin, hex.EncodeToString(sum[:]), int64(len(content)), int64(len(content)), ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("desired plugin binary (-want +got):\n%s", diff)
	}
	written, err := df.readContent()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, content) {
		t.Errorf("apply would write %d bytes, not the binary's %d", len(written), len(content))
	}

	content[len(content)-1] = 1
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := df.readContent(); err == nil || !strings.Contains(err.Error(), "changed since it was planned") {
		t.Errorf("writing a binary changed since plan: %v, want a refusal", err)
	}
	changed, err := pluginBinary(bin, m)
	if err != nil {
		t.Fatal(err)
	}
	if changed.SHA256() == df.SHA256() {
		t.Error("the digest did not change with the binary")
	}
}

// TestDesiredFingerprintFollowsThePluginBinary: a saved plan's desired
// fingerprint changes when the plugin binary does, though the desired
// state does not hold its bytes.
func TestDesiredFingerprintFollowsThePluginBinary(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	arch := elfArchOrSkip(t, exe)
	serverType := map[string]string{"amd64": "cpx11", "arm64": "cax11"}[arch]
	f := loadDesiredFleet(t, serverType)
	exeBytes, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "fleetctl")
	fingerprint := func(content []byte) string {
		t.Helper()
		if err := os.WriteFile(bin, content, 0o755); err != nil {
			t.Fatal(err)
		}
		d, err := NewDesired(f, DesiredOptions{PluginBinary: bin, Secret: func(spec.Secret) (string, error) { return "s", nil }})
		if err != nil {
			t.Fatal(err)
		}
		for _, df := range d.Files {
			if df.Addr == AddrBinary && (df.Content != nil || df.Source != bin) {
				t.Errorf("desired binary: %d bytes held, source %q; want none held, source %q", len(df.Content), df.Source, bin)
			}
		}
		return d.Fingerprint()
	}
	before := fingerprint(exeBytes)
	if again := fingerprint(exeBytes); again != before {
		t.Error("desired fingerprint is not deterministic")
	}
	if after := fingerprint(append(exeBytes, 0)); after == before {
		t.Error("desired fingerprint did not change with the plugin binary")
	}
}

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// A public_key_file that holds the private key is refused at the field's
// position, with exit 1, and none of the key reaches the output.
func TestPlanPublicKeyFileHoldsPrivateKey(t *testing.T) {
	sim := hcloudsim.New(hcloudsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	setTokens(t)

	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(block))
	keyPath := filepath.Join(dir, "dev.pub") // the name of a public key, the content of a private one
	if err := os.WriteFile(keyPath, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet := fmt.Sprintf(`version: 1
name: cli
hcloud:
  token: {env: HCLOUD_TOKEN}
  endpoint: %[2]s
ssh_keys:
  - name: dev
    public_key_file: %[1]s
manager:
  name: runner-manager
  server_type: cpx11
  image: debian-12
  location: hel1
  ssh_keys: [dev]
  ssh: {private_key: {file: %[1]s}}
gitlab_runner:
  concurrent: 20
  runners:
    - name: r
      url: https://gitlab.com
      token: {env: RUNNER_TOKEN}
      docker: {image: "alpine:latest"}
      autoscaler:
        capacity_per_instance: 4
        max_instances: 5
        policy: [{periods: ["* * * * *"], idle_count: 8, idle_time: 1h}]
        instances: {name: auto, location: hel1, server_type: cpx21, image: debian-12}
`, keyPath, srv.URL+"/v1")
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "plan", "-f", path)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := path + ":" + posOf(t, fleet, "public_key_file: ", keyPath) + ": ssh_keys[0].public_key_file: "
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "holds a private key") {
		t.Errorf("stderr does not say %q ... holds a private key:\n%s", want, r.stderr)
	}
	keyBody := strings.Split(keyPEM, "\n")[1]
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, keyBody) || strings.Contains(out, "BEGIN OPENSSH PRIVATE KEY") {
			t.Errorf("the private key reached the output:\n%s", out)
		}
	}
	noSecrets(t, r)
}

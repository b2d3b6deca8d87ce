package hcloudsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

type keyPair struct {
	signer     ssh.Signer
	authorized string
	privatePEM string
}

func newKeyPair(t *testing.T) keyPair {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{signer: signer, authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
		privatePEM: string(pem.EncodeToMemory(block))}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func dial(addr string, user ssh.Signer, hostKey *ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)}, Timeout: 5 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if hostKey != nil {
				*hostKey = key
			}
			return nil
		},
	})
}

func run(t *testing.T, c *ssh.Client, cmd string) (string, string) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Run(cmd); err != nil {
		t.Fatalf("%s: %v (stderr %q)", cmd, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

func TestSSHHosts(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	state := t.TempDir()
	env := newTestEnv(t, Options{SSH: true, SSHPort: port, StateDir: state})
	ctx := context.Background()

	apiKey, userDataKey, stranger, hostKey := newKeyPair(t), newKeyPair(t), newKeyPair(t), newKeyPair(t)
	key, _, err := env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: apiKey.authorized})
	if err != nil {
		t.Fatal(err)
	}
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") }
	userData := fmt.Sprintf("#cloud-config\nssh_keys:\n  ed25519_private: |\n%s\n  ed25519_public: %s\nusers:\n  - name: ci\n    ssh_authorized_keys:\n      - %s\n",
		indent(hostKey.privatePEM), hostKey.authorized, userDataKey.authorized)
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "runner-manager", SSHKeys: []*hcloud.SSHKey{key}, UserData: userData})
	ip := srv.PublicNet.IPv4.IP
	if !ip.IsLoopback() || ip.String() == "127.0.0.1" {
		t.Fatalf("ipv4 = %s, want a loopback address of its own", ip)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))

	var presented ssh.PublicKey
	client, err := dial(addr, apiKey.signer, &presented)
	if err != nil {
		t.Fatalf("dial with the server's SSH key: %v", err)
	}
	defer client.Close()
	if !bytes.Equal(presented.Marshal(), hostKey.signer.PublicKey().Marshal()) {
		t.Errorf("host key is not the one from user_data")
	}

	// SFTP upload with mode and rename.
	sc, err := sftp.NewClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.MkdirAll("/etc/gitlab-runner"); err != nil {
		t.Fatal(err)
	}
	f, err := sc.OpenFile("/etc/gitlab-runner/.config.toml.tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("concurrent = 4\n"))
	f.Chmod(0o600)
	f.Close()
	if err := sc.PosixRename("/etc/gitlab-runner/.config.toml.tmp", "/etc/gitlab-runner/config.toml"); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	onDisk := filepath.Join(state, "servers", "runner-manager", "etc", "gitlab-runner", "config.toml")
	fi, err := os.Stat(onDisk)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("uploaded file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(onDisk); string(b) != "concurrent = 4\n" {
		t.Errorf("uploaded content = %q", b)
	}

	// Exec with recorded stand-in calls.
	if out, errOut := run(t, client, "echo hi"); out != "hi\n" || errOut != "" {
		t.Errorf("echo hi: stdout %q stderr %q", out, errOut)
	}
	run(t, client, "systemctl restart gitlab-runner")
	code, body := adminDo(t, env, "GET", "/_sim/servers/runner-manager/calls", nil)
	var calls struct{ Calls []HostCall }
	json.Unmarshal(body, &calls)
	found := false
	for _, c := range calls.Calls {
		if c.Command == "systemctl" && strings.Join(c.Args, " ") == "restart gitlab-runner" {
			found = true
		}
	}
	if code != 200 || !found {
		t.Errorf("calls = %d %s, want systemctl restart gitlab-runner", code, body)
	}
	client.Close()

	if c, err := dial(addr, userDataKey.signer, nil); err != nil {
		t.Errorf("dial with user_data's key: %v", err)
	} else {
		c.Close()
	}
	if c, err := dial(addr, stranger.signer, nil); err == nil {
		c.Close()
		t.Errorf("a key not in the server's keys was accepted")
	}

	// Power off stops the host; power on starts it; rebuild wipes; delete stops.
	act, _, _ := env.client.Server.Poweroff(ctx, srv)
	env.client.Action.WaitFor(ctx, act)
	if c, err := dial(addr, apiKey.signer, nil); err == nil {
		c.Close()
		t.Errorf("host still answers when the server is off")
	}
	act, _, _ = env.client.Server.Poweron(ctx, srv)
	env.client.Action.WaitFor(ctx, act)
	if c, err := dial(addr, apiKey.signer, nil); err != nil {
		t.Errorf("after poweron: %v", err)
	} else {
		c.Close()
	}
	res, _, err := env.client.Server.RebuildWithResult(ctx, srv, hcloud.ServerRebuildOpts{Image: &hcloud.Image{Name: "debian-13"}})
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, res.Action)
	if _, err := os.Stat(onDisk); !os.IsNotExist(err) {
		t.Errorf("rebuild kept the server's files: %v", err)
	}
	if c, err := dial(addr, apiKey.signer, nil); err != nil {
		t.Errorf("after rebuild: %v", err)
	} else {
		c.Close()
	}
	if _, _, err := env.client.Server.DeleteWithResult(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if c, err := dial(addr, apiKey.signer, nil); err == nil {
		c.Close()
		t.Errorf("host still answers after delete")
	}
}

func TestSSHHostsEachOwnAddress(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	// Someone else holds the first address's port.
	squatter, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		t.Skip("cannot listen on 127.0.0.2:", err)
	}
	defer squatter.Close()
	env := newTestEnv(t, Options{SSH: true, SSHPort: port, StateDir: t.TempDir()})
	a := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	b := createServer(t, env, hcloud.ServerCreateOpts{Name: "b"})
	ia, ib := a.PublicNet.IPv4.IP.String(), b.PublicNet.IPv4.IP.String()
	if ia == ib || ia == "127.0.0.2" || ib == "127.0.0.2" {
		t.Errorf("addresses %s and %s: want two different ones, not the taken 127.0.0.2", ia, ib)
	}
	for _, ip := range []string{ia, ib} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second)
		if err != nil {
			t.Errorf("%s: %v", ip, err)
			continue
		}
		c.Close()
	}
}

func TestSSHHostFollowsRename(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	state := t.TempDir()
	env := newTestEnv(t, Options{SSH: true, SSHPort: port, StateDir: state})
	ctx := context.Background()
	user := newKeyPair(t)
	key, _, err := env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: user.authorized})
	if err != nil {
		t.Fatal(err)
	}
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "old", SSHKeys: []*hcloud.SSHKey{key}})
	addr := net.JoinHostPort(srv.PublicNet.IPv4.IP.String(), strconv.Itoa(port))
	c, err := dial(addr, user.signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, "mkdir -p etc && echo x > etc/marker")
	c.Close()
	if _, _, err := env.client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Name: "new"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "servers", "new", "etc", "marker")); err != nil {
		t.Errorf("files did not move with the name: %v", err)
	}
	c, err = dial(addr, user.signer, nil)
	if err != nil {
		t.Fatalf("after rename: %v", err)
	}
	defer c.Close()
	if out, _ := run(t, c, "cat etc/marker"); out != "x\n" {
		t.Errorf("after rename the host serves %q, want the moved directory", out)
	}
}

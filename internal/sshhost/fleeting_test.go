package sshhost

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"
)

// TestFleetingConnector runs a command through fleeting's SSH connector, the client
// gitlab-runner and fleeting's plugin test harness use, as that harness does: stdout must
// carry the output and stderr must stay exactly empty.
func TestFleetingConnector(t *testing.T) {
	t.Parallel()
	th := startTestHost(t)
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	th.SetAuthorized([]ssh.PublicKey{signer.PublicKey()})
	host, port, err := net.SplitHostPort(th.Addr())
	if err != nil {
		t.Fatal(err)
	}
	portNumber, err := net.LookupPort("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	info := provider.ConnectInfo{
		ConnectorConfig: provider.ConnectorConfig{
			OS:           "linux",
			Arch:         "amd64",
			Protocol:     provider.ProtocolSSH,
			ProtocolPort: portNumber,
			Username:     "root",
			Key:          pem.EncodeToMemory(block),
			Timeout:      10 * time.Second,
			Keepalive:    time.Second,
		},
		ExternalAddr: host,
		InternalAddr: host,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err = connector.Run(ctx, info, connector.ConnectorOptions{
		RunOptions:  connector.RunOptions{Command: "echo 'hello world'", Stdout: &stdout, Stderr: &stderr},
		DialOptions: connector.DialOptions{UseExternalAddr: true},
	})
	if err != nil {
		t.Fatalf("connector run: %v (stderr %q)", err, stderr.String())
	}
	if stdout.String() != "hello world\n" || stderr.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want \"hello world\\n\" and nothing", stdout.String(), stderr.String())
	}
}

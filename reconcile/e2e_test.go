package reconcile_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
	"github.com/fleetctl/fleetctl/spec"
)

// Known secret values: no output, error or plan file may contain them.
const (
	secretHCloudToken = "hcloud-token-SECRET-4711"
	secretRunnerToken = "glrt-runner-SECRET-0815"
)

// env is one simulated Hetzner project with SSH hosts, and a fleet.yaml
// in a temporary directory that points at it.
type env struct {
	t        testing.TB
	sim      *hcloudsim.Sim
	url      string
	dir      string
	stateDir string
	sshPort  int
	fleet    string
	client   *hcloud.Client // for drift, as a user with the hcloud CLI would make it
	progress *syncBuffer
	values   map[string]string // template values of fleet.yaml
	// pluginBinary is the fleetctl binary apply pushes; "" means a small
	// linux/amd64 executable, true(1).
	pluginBinary string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const fleetTemplate = `version: 1
name: {{fleet}}
hcloud:
  token: {file: {{dir}}/hcloud-token}
  endpoint: {{url}}
ssh_keys:
  - name: dev
    public_key: "{{pub}}"
{{more_ssh_keys}}firewalls:
  - name: runner
    rules:
      - {description: allow icmp from everywhere, direction: in, protocol: icmp, source_ips: [0.0.0.0/0, "::/0"]}
      - {description: allow ssh from everywhere, direction: in, protocol: tcp, port: "22", source_ips: [0.0.0.0/0, "::/0"]}
    apply_to:
      - label_selector: runner
{{more_firewalls}}manager:
  name: runner-manager
  server_type: {{server_type}}
  image: {{image}}
  location: hel1
  ssh_keys: [dev]
  labels: {runner: ""}
{{manager_extra}}  ssh:
    private_key: {file: {{dir}}/id_ed25519}
    port: {{port}}
gitlab_runner:
  concurrent: 10
  log_level: info
  log_format: text
  runners:
    - name: hetzner-docker-autoscaler
      url: https://gitlab.com
      token: {file: {{dir}}/runner-token}
      executor: docker-autoscaler
      docker: {image: "alpine:latest"}
{{cache}}      autoscaler:
        plugin: {{plugin}}
        capacity_per_instance: 4
        max_instances: {{max_instances}}
        max_use_count: 0
        instance_ready_command: cloud-init status --wait || test $? -eq 2
        connector_config: {use_external_addr: true}
        policy:
          - {periods: ["* * * * *"], timezone: Europe/Berlin, idle_count: {{idle_count}}, idle_time: 1h}
        instances:
          name: runner-docker-autoscaler
          location: hel1
          server_type: cpx21
          image: debian-12
`

var sshOnce struct {
	sync.Once
	ok  bool
	why string
}

// requireSSHHosts skips the test when this build's simulator runs no SSH
// hosts (its SSH host package is wired in separately).
func requireSSHHosts(t testing.TB) {
	t.Helper()
	sshOnce.Do(func() {
		e := newBareEnv(t, hcloudsim.Options{})
		ctx := context.Background()
		res, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "probe", ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}})
		if err != nil {
			sshOnce.why = err.Error()
			return
		}
		e.client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...)
		addr := net.JoinHostPort(res.Server.PublicNet.IPv4.IP.String(), fmt.Sprint(e.sshPort))
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				sshOnce.ok = true
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		sshOnce.why = "the simulator's servers do not answer SSH"
	})
	if !sshOnce.ok {
		t.Skipf("no SSH hosts in the simulator: %s", sshOnce.why)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	n, _ := rand.Int(rand.Reader, big.NewInt(20000))
	return 30000 + int(n.Int64())
}

func newBareEnv(t testing.TB, opts hcloudsim.Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), stateDir: t.TempDir(), sshPort: freePort(t), progress: &syncBuffer{}}
	opts.SSH, opts.SSHPort, opts.StateDir = true, e.sshPort, e.stateDir
	e.sim = hcloudsim.New(opts)
	srv := httptest.NewServer(e.sim)
	t.Cleanup(func() { srv.Close(); e.sim.Close() })
	e.url = srv.URL + "/v1"
	e.client = hcloud.NewClient(hcloud.WithEndpoint(e.url), hcloud.WithToken(secretHCloudToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(10 * time.Millisecond)}))
	return e
}

// newEnv makes a project and a fleet.yaml whose secrets are files in dir.
func newEnv(t testing.TB, opts hcloudsim.Options) *env {
	t.Helper()
	e := newBareEnv(t, opts)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	e.write("id_ed25519", string(pem.EncodeToMemory(block)))
	e.write("hcloud-token", secretHCloudToken)
	e.write("runner-token", secretRunnerToken)
	e.fleet = "e2e"
	e.values = map[string]string{
		"fleet": e.fleet, "dir": e.dir, "url": e.url, "port": fmt.Sprint(e.sshPort),
		"pub":         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))),
		"server_type": "cpx11", "image": "debian-12", "max_instances": "5", "idle_count": "8",
		"plugin": "fleetctl", "more_ssh_keys": "", "more_firewalls": "", "manager_extra": "", "cache": "",
	}
	e.writeFleet(nil)
	return e
}

func (e *env) write(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// writeFleet writes fleet.yaml with some template values changed.
func (e *env) writeFleet(change map[string]string) {
	e.t.Helper()
	for k, v := range change {
		e.values[k] = v
	}
	text := fleetTemplate
	for k, v := range e.values {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	e.write("fleet.yaml", text)
}

// session loads fleet.yaml as a command would.
func (e *env) session() *reconcile.Session {
	e.t.Helper()
	f, err := spec.Load(filepath.Join(e.dir, "fleet.yaml"))
	if err != nil {
		e.t.Fatal(err)
	}
	bin := e.pluginBinary
	if bin == "" {
		if bin, err = exec.LookPath("true"); err != nil {
			e.t.Fatal(err)
		}
	}
	s, err := reconcile.NewSession(f, reconcile.SessionOptions{
		PluginBinary: bin,
		PollInterval: 10 * time.Millisecond,
		Retry:        reconcile.RetryPolicy{Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MinRateLimitWait: 10 * time.Millisecond, MaxRateLimitWait: 100 * time.Millisecond},
		Progress:     e.progress, ServerPoll: 10 * time.Millisecond, SSHRetryInterval: 50 * time.Millisecond,
		ReadyTimeout: 20 * time.Second,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) plan(adopt bool) *reconcile.Plan {
	e.t.Helper()
	p, err := e.session().Plan(context.Background(), adopt)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	e.checkNoSecrets("plan", planText(e.t, p), planJSON(e.t, p))
	return p
}

func (e *env) apply(allowDestroy bool) ([]reconcile.Result, error) {
	e.t.Helper()
	s := e.session()
	p, err := s.Plan(context.Background(), false)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	res, err := s.Apply(context.Background(), p, allowDestroy)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	e.checkNoSecrets("apply", msg, e.progress.String())
	return res, err
}

func (e *env) mustApply() []reconcile.Result {
	e.t.Helper()
	res, err := e.apply(false)
	if err != nil {
		e.t.Fatalf("apply: %v\nprogress:\n%s", err, e.progress.String())
	}
	return res
}

func (e *env) checkNoSecrets(what string, texts ...string) {
	e.t.Helper()
	for _, text := range texts {
		for _, s := range []string{secretHCloudToken, secretRunnerToken, "PRIVATE KEY"} {
			if strings.Contains(text, s) {
				e.t.Errorf("%s output holds a secret (%q):\n%s", what, s, text)
			}
		}
	}
}

func (e *env) managerFile(path string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.stateDir, "servers", "runner-manager", path))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) restarts() int {
	calls, _ := e.sim.Calls("runner-manager")
	n := 0
	for _, c := range calls {
		if c.Kind == "stub" && c.Command == "systemctl" && len(c.Args) > 0 && c.Args[0] == "restart" {
			n++
		}
	}
	return n
}

func planText(t testing.TB, p *reconcile.Plan) string {
	var b strings.Builder
	if err := planview.Text(&b, p, planview.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func planJSON(t testing.TB, p *reconcile.Plan) string {
	var b strings.Builder
	if err := planview.JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// changed lists the plan's changes as "address action".
func changed(p *reconcile.Plan) []string {
	var out []string
	for _, ch := range p.Changes {
		if ch.Action != reconcile.NoOp {
			out = append(out, string(ch.Addr)+" "+ch.Action.String())
		}
	}
	return out
}

func mustEqual(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("%s:\nwant %q\n got %q", what, want, got)
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/testenv"
)

// Known secret values: no output of fleetctl may contain them.
const (
	secretHCloudToken = "hcloud-e2e-SECRET-7f3a9c"
	secretRunnerToken = "glrt-e2e-SECRET-51d0b2"
)

// binaries are the fleetctl and hcloudsim executables TestMain builds.
var binaries struct {
	fleetctl  string
	hcloudsim string
	root      string // the module root
	goTool    string // the go command that built them
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fleetctl-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinaries builds fleetctl and hcloudsim into dir.
func buildBinaries(dir string) error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	// go test puts its own GOROOT/bin first on PATH, so "go" is the
	// toolchain running the tests.
	goTool := "go"
	cmd := exec.Command(goTool, "build", "-o", dir+string(filepath.Separator), "./cmd/fleetctl", "./cmd/hcloudsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	binaries.fleetctl = filepath.Join(dir, "fleetctl")
	binaries.hcloudsim = filepath.Join(dir, "hcloudsim")
	binaries.root = root
	binaries.goTool = goTool
	return nil
}

// simulator is a running hcloudsim process whose servers are SSH hosts.
type simulator struct {
	t        testing.TB
	url      string // the API base URL, what HCLOUD_ENDPOINT is set to
	admin    string // the admin API base URL
	stateDir string
	sshPort  int
	client   *hcloud.Client
	logged   *lineCounter // request log lines on stderr
}

type simOptions struct {
	actionDuration time.Duration
	// rateLimit is --rate-limit; 0 keeps the simulator's default (Hetzner's 3600/h).
	rateLimit int
}

// startSimulator starts hcloudsim with --ssh on a free port and stops it at
// the end of the test.
func startSimulator(t testing.TB, o simOptions) *simulator {
	t.Helper()
	s := &simulator{t: t, stateDir: t.TempDir(), sshPort: freePort(t), logged: &lineCounter{}}
	args := []string{"--listen", "127.0.0.1:0", "--ssh", "--ssh-port", strconv.Itoa(s.sshPort),
		"--state-dir", s.stateDir, "--action-duration", o.actionDuration.String()}
	if o.rateLimit != 0 {
		args = append(args, "--rate-limit", strconv.Itoa(o.rateLimit))
	}
	cmd := exec.Command(binaries.hcloudsim, args...)
	cmd.Stderr = s.logged
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- strings.TrimSpace(line)
		io.Copy(io.Discard, r)
	}()
	select {
	case s.url = <-first:
	case <-time.After(15 * time.Second):
		t.Fatal("hcloudsim printed no URL within 15 s")
	}
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || !strings.HasSuffix(s.url, "/v1") {
		t.Fatalf("hcloudsim's first line %q is not its API URL", s.url)
	}
	s.admin = strings.TrimSuffix(s.url, "/v1") + "/_sim"
	s.client = hcloud.NewClient(hcloud.WithEndpoint(s.url), hcloud.WithToken(secretHCloudToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(20 * time.Millisecond)}))
	return s
}

// freePort returns a TCP port that was free on loopback a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// simStats is GET /_sim/stats.
type simStats struct {
	Total     int            `json:"total"`
	ByRoute   map[string]int `json:"by_route"`
	Dropped   int            `json:"dropped"`
	SFTPDrops int            `json:"sftp_drops"`
}

func (s *simulator) stats() (simStats, error) {
	var st simStats
	resp, err := http.Get(s.admin + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /_sim/stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (s *simulator) mustStats() simStats {
	s.t.Helper()
	st, err := s.stats()
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s *simulator) resetStats() {
	s.t.Helper()
	s.adminRequest(http.MethodDelete, "/stats", nil, http.StatusNoContent)
}

// fault is the body of POST /_sim/faults.
type fault struct {
	Method  string `json:"method,omitempty"`
	Path    string `json:"path,omitempty"`
	Count   int    `json:"count,omitempty"`
	Status  int    `json:"status,omitempty"`
	Latency string `json:"latency,omitempty"`
	// Drop is "request" or "response"; SFTPDropAfter makes it a fault
	// of the SSH hosts (see hcloudsim.Fault).
	Drop          string `json:"drop,omitempty"`
	SFTPDropAfter int64  `json:"sftp_drop_after,omitempty"`
}

func (s *simulator) addFault(f fault) error {
	body, _ := json.Marshal(f)
	return s.adminRequestErr(http.MethodPost, "/faults", body, http.StatusCreated)
}

func (s *simulator) clearFaults() {
	s.t.Helper()
	s.adminRequest(http.MethodDelete, "/faults", nil, http.StatusNoContent)
}

// hostCall is one recorded command of a server's SSH host.
type hostCall struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Command string    `json:"command"`
	Args    []string  `json:"args"`
}

func (s *simulator) calls(server string) []hostCall {
	s.t.Helper()
	resp, err := http.Get(s.admin + "/servers/" + server + "/calls")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Calls []hostCall `json:"calls"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("calls of %s: %v", server, err)
	}
	return out.Calls
}

func (s *simulator) adminRequest(method, path string, body []byte, want int) {
	s.t.Helper()
	if err := s.adminRequestErr(method, path, body, want); err != nil {
		s.t.Fatal(err)
	}
}

func (s *simulator) adminRequestErr(method, path string, body []byte, want int) error {
	req, err := http.NewRequest(method, s.admin+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s /_sim%s: %s %s", method, path, resp.Status, b)
	}
	return nil
}

// managerDir is the manager's file system root in the simulator.
func (s *simulator) managerDir() string {
	return filepath.Join(s.stateDir, "servers", managerName)
}

// lineCounter counts the simulator's request log lines on stderr: one per
// request answered by the API itself, none for an injected fault.
type lineCounter struct {
	mu      sync.Mutex
	partial []byte
	lines   int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(c.partial[:i], []byte(" /v1/")) {
			c.lines++
		}
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

func (c *lineCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = 0
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// The tutorial fleet's names (examples/tutorial/fleet.yaml).
const (
	fleetName   = "gitlab-ci"
	managerName = "runner-manager"
)

// fleet is a copy of the tutorial's fleet.yaml that points at a fresh SSH
// key pair and at the simulator.
type fleet struct {
	t    testing.TB
	sim  *simulator
	dir  string
	path string
	// managerType is the manager's server_type in fleet.yaml.
	managerType string
	// pluginFiles are the manager's files whose every change must be
	// followed by a restart of gitlab-runner (which then restarts the plugin).
	pluginFiles []string
}

// newFleet writes the tutorial fleet, edited by edit (may be nil), for sim.
func newFleet(t testing.TB, sim *simulator, edit func(string) string) *fleet {
	t.Helper()
	f := &fleet{t: t, sim: sim, dir: t.TempDir(), managerType: "cpx11",
		pluginFiles: []string{"usr/local/bin/fleetctl", "etc/fleetctl/fleet.yaml"}}
	f.path = filepath.Join(f.dir, "fleet.yaml")
	pub, priv := newSSHKey(t)
	f.writeFile("id_ed25519", priv, 0o600)
	f.writeFile("id_ed25519.pub", pub, 0o644)
	f.writeSpec(edit)
	return f
}

// writeSpec rewrites fleet.yaml from the tutorial, edited by edit.
func (f *fleet) writeSpec(edit func(string) string) {
	f.t.Helper()
	raw, err := os.ReadFile(filepath.Join(binaries.root, "examples", "tutorial", "fleet.yaml"))
	if err != nil {
		f.t.Fatal(err)
	}
	text := string(raw)
	for _, r := range []struct{ old, new string }{
		{"public_key_file: ~/.ssh/id_ed25519.pub", "public_key_file: " + filepath.Join(f.dir, "id_ed25519.pub")},
		{"private_key: {file: ~/.ssh/id_ed25519}", fmt.Sprintf("private_key: {file: %s}\n    port: %d", filepath.Join(f.dir, "id_ed25519"), f.sim.sshPort)},
		// The simulator's SSH hosts listen on that port: let the firewall allow it.
		{`port: "22"`, fmt.Sprintf("port: \"%d\"", f.sim.sshPort)},
	} {
		if strings.Count(text, r.old) != 1 {
			f.t.Fatalf("examples/tutorial/fleet.yaml has %d times %q, want once", strings.Count(text, r.old), r.old)
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	if edit != nil {
		text = edit(text)
	}
	f.writeFile("fleet.yaml", text, 0o644)
}

func (f *fleet) writeFile(name, content string, mode os.FileMode) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), mode); err != nil {
		f.t.Fatal(err)
	}
}

// newSSHKey returns an ed25519 key pair in authorized_keys and OpenSSH PEM form.
func newSSHKey(t testing.TB) (pub, priv string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return string(ssh.MarshalAuthorizedKey(sshPub)), string(pem.EncodeToMemory(block))
}

// environ is the environment fleetctl runs with: the caller's, without
// anything that could point it elsewhere, plus the simulator and the secrets.
func (f *fleet) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HCLOUD_") || name == "RUNNER_TOKEN" || name == "SSH_PRIVATE_KEY" || name == "NO_COLOR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HCLOUD_ENDPOINT="+f.sim.url, "HCLOUD_TOKEN="+secretHCloudToken,
		"RUNNER_TOKEN="+secretRunnerToken, "NO_COLOR=1")
}

// run is one finished fleetctl process.
type run struct {
	args      []string
	stdout    string
	stderr    string
	code      int
	wall      time.Duration
	maxRSSKiB int64
}

func (r run) String() string {
	return fmt.Sprintf("fleetctl %s: exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// fleetctl runs fleetctl with args followed by -f fleet.yaml, and checks
// that no secret value reached its output.
func (f *fleet) fleetctl(ctx context.Context, args ...string) run {
	f.t.Helper()
	args = append(args, "-f", f.path)
	cmd := exec.CommandContext(ctx, binaries.fleetctl, args...)
	cmd.Env = f.environ()
	cmd.Dir = f.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{args: args, stdout: stdout.String(), stderr: stderr.String(), wall: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		f.t.Fatalf("fleetctl %v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKiB = ru.Maxrss // kilobytes on Linux
	}
	f.checkNoSecrets(r.stdout + r.stderr)
	return r
}

// mustSucceed runs fleetctl and fails the test unless it exits with want.
func (f *fleet) mustExit(ctx context.Context, want int, args ...string) run {
	f.t.Helper()
	r := f.fleetctl(ctx, args...)
	if r.code != want {
		f.t.Fatalf("want exit %d, got %s", want, r)
	}
	return r
}

func (f *fleet) checkNoSecrets(output string) {
	f.t.Helper()
	for _, secret := range []string{secretHCloudToken, secretRunnerToken} {
		if strings.Contains(output, secret) {
			f.t.Errorf("fleetctl's output contains the secret %q", secret)
		}
	}
}

package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	"gitlab.com/gitlab-org/fleeting/fleeting/integration"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"github.com/fleetctl/fleetctl/internal/testenv"
	"github.com/fleetctl/fleetctl/plugin"
)

// The binaries are built once per test run: fleetctl exactly as it is
// installed on a manager, and the simulator.
var (
	binDirOnce sync.Once
	binDir     string
	builds     sync.Map // package path → *build
)

type build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/<name> of this module once and returns its path.
func binary(t *testing.T, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	bd := v.(*build)
	bd.once.Do(func() {
		root, err := testenv.ModuleRoot()
		if err != nil {
			bd.err = err
			return
		}
		binDirOnce.Do(func() { binDir, err = os.MkdirTemp("", "fleetctl-plugin-test-") })
		if err != nil {
			bd.err = err
			return
		}
		bd.path = filepath.Join(binDir, name)
		// The simulator's SSH hosts are built in with the sshhost tag.
		cmd := exec.Command("go", "build", "-o", bd.path, "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bd.err = fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	})
	if bd.err != nil {
		t.Fatal(bd.err)
	}
	return bd.path
}

// startSim starts cmd/hcloudsim and returns the API URL it prints first.
func startSim(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t, "hcloudsim"), append([]string{"--listen", "127.0.0.1:0", "--quiet"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("hcloudsim stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("hcloudsim printed no URL: %v\n%s", err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(line)
}

const fleetYAML = `version: 1
name: gitlab-ci
manager:
  name: runner-manager
  server_type: cpx11
  image: debian-12
  location: hel1
gitlab_runner:
  concurrent: 4
  runners:
    - name: docker
      url: https://gitlab.com
      token: {env: RUNNER_TOKEN}
      autoscaler:
        capacity_per_instance: 1
        max_instances: 3
        connector_config: {use_external_addr: true}
        instances:
          name: ci-docker
          location: hel1
          server_type: [cpx21, cpx31]
          image: debian-12
`

func writeFleet(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(fleetYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// needRoot skips where the simulator cannot bind its SSH hosts to port 22
// (CI runs as root).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the simulator's SSH hosts listen on port 22 of 127.0.0.N: run as root")
		}
		t.Skip("the simulator's SSH hosts listen on port 22 of 127.0.0.N: needs root")
	}
}

// recordingWrapper returns an executable that runs fleetctl exactly as
// gitlab-runner would (no arguments, the environment it was given) and
// copies everything fleetctl writes to stdout into a file.
func recordingWrapper(t *testing.T, fleetctlPath string) (wrapper, stdoutLog string) {
	t.Helper()
	dir := t.TempDir()
	stdoutLog = filepath.Join(dir, "stdout.log")
	wrapper = filepath.Join(dir, "fleetctl-recorded")
	script := fmt.Sprintf("#!/bin/sh\n%q | tee -a %q\n", fleetctlPath, stdoutLog)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, stdoutLog
}

// handshake is go-plugin's line: core version 1, app version 0, then the
// address, network and protocol grpc.
var handshake = regexp.MustCompile(`^1\|0\|(unix|tcp)\|[^|\n]+\|grpc\|[^\n]*\n$`)

// TestFleetingHarness runs fleeting's own plugin test harness against the
// built fleetctl binary, launched bare, and the simulator with SSH hosts: up
// to 3 instances, down to 1, echo 'hello world' over SSH on it, down to 0.
// The binary's stdout over the whole session is the handshake line alone.
func TestFleetingHarness(t *testing.T) {
	needRoot(t)
	fleetctlPath := binary(t, "fleetctl")
	url := startSim(t, "--ssh")
	wrapper, stdoutLog := recordingWrapper(t, fleetctlPath)
	keyFile := filepath.Join(t.TempDir(), "docker.key")

	integration.TestProvisioning(t, wrapper, integration.Config{
		PluginConfig: map[string]string{
			"spec":     writeFleet(t),
			"runner":   "docker",
			"token":    "integration-token",
			"endpoint": url,
			"key_file": keyFile,
		},
		ConnectorConfig: provider.ConnectorConfig{Timeout: 10 * time.Second},
		MaxInstances:    3,
		UseExternalAddr: true,
	})

	out, err := os.ReadFile(stdoutLog)
	if err != nil {
		t.Fatal(err)
	}
	if !handshake.Match(out) {
		t.Errorf("plugin stdout over the session is not just the handshake line:\n%q", out)
	}
}

// TestPluginModeStdout: started with the cookie, fleetctl writes the
// handshake and nothing else to stdout; without it, it is the CLI.
func TestPluginModeStdout(t *testing.T) {
	fleetctlPath := binary(t, "fleetctl")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fleetctlPath)
	cmd.Env = append(os.Environ(), plugin.HandshakeKey+"="+plugin.HandshakeValue)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the handshake line, not for a time sized for an idle
	// machine; then anything else written so far would be read too.
	var out bytes.Buffer
	line, err := bufio.NewReader(io.TeeReader(stdout, &out)).ReadString('\n')
	if err != nil {
		t.Fatalf("no handshake line in plugin mode: %q, %v", line, err)
	}
	done := make(chan struct{})
	go func() { io.Copy(&out, stdout); close(done) }()
	// Whatever follows the handshake soon after would show here; on a
	// busy machine the look is shorter, never a failure.
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Kill()
	<-done
	cmd.Wait()
	if !handshake.Match(out.Bytes()) {
		t.Errorf("stdout in plugin mode is not just the handshake line:\n%q", out.String())
	}

	help, err := exec.Command(fleetctlPath, "plugin").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(help, []byte(`plugin = "/usr/local/bin/fleetctl"`)) {
		t.Errorf("fleetctl plugin does not explain the config.toml setting:\n%s", help)
	}
}

// TestPluginRestartKeepsInstancesReachable restarts the plugin process (as a
// gitlab-runner restart does) and connects over SSH to an instance the first
// process created.
func TestPluginRestartKeepsInstancesReachable(t *testing.T) {
	needRoot(t)
	fleetctlPath := binary(t, "fleetctl")
	url := startSim(t, "--ssh")
	config := fmt.Sprintf(`{"spec":%q,"runner":"docker","token":"t","endpoint":%q,"key_file":%q}`,
		writeFleet(t), url, filepath.Join(t.TempDir(), "docker.key"))
	settings := fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: provider.ConnectorConfig{Timeout: 10 * time.Second}})
	ctx := context.Background()

	first, err := fleeting.RunPlugin(fleetctlPath, []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	prov, err := fleeting.Init(ctx, hclog.NewNullLogger(), first.InstanceGroup(), settings, fleeting.WithUpdateIntervalWhenExpecting(200*time.Millisecond))
	if err != nil {
		first.Kill()
		t.Fatal(err)
	}
	prov.Request(1)
	id := waitRunning(t, prov)
	prov.Shutdown(ctx)
	first.Kill()

	second, err := fleeting.RunPlugin(fleetctlPath, []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Kill()
	prov, err = fleeting.Init(ctx, hclog.NewNullLogger(), second.InstanceGroup(), settings)
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Shutdown(ctx)
	var adopted fleeting.Instance
	for _, inst := range prov.Instances() {
		if inst.ID() == id {
			adopted = inst
		}
	}
	if adopted == nil {
		t.Fatalf("the restarted plugin does not report instance %s", id)
	}
	if adopted.Cause() != fleeting.CausePreexisted {
		t.Errorf("cause %s, want preexisted", adopted.Cause())
	}
	info, err := adopted.ConnectInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = connector.Run(ctx, info, connector.ConnectorOptions{
		RunOptions:  connector.RunOptions{Command: "echo adopted", Stdout: &stdout, Stderr: &stderr},
		DialOptions: connector.DialOptions{UseExternalAddr: true},
	})
	if err != nil || strings.TrimSpace(stdout.String()) != "adopted" {
		t.Errorf("ssh to the adopted instance: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

func waitRunning(t *testing.T, prov *fleeting.Provisioner) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, inst := range prov.Instances() {
			if inst.State() == provider.StateRunning {
				return inst.ID()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no instance became running")
	return ""
}

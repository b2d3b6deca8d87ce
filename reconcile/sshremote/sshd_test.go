package sshremote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshdPath is where Debian's openssh-server installs sshd; it must be run by
// its absolute path because it re-executes itself.
const sshdPath = "/usr/sbin/sshd"

// testSSHD is a real OpenSSH sshd listening on loopback, with its host key,
// client key and log in a temporary directory.
type testSSHD struct {
	addr       string
	configPath string
	hostKey    ssh.PublicKey
	client     ssh.Signer
	username   string
	log        *lockedBuffer
}

// config returns a Config that reaches the server with a verified host key.
func (s *testSSHD) config() Config {
	return Config{
		Addr:               s.addr,
		User:               s.username,
		Signer:             s.client,
		HostKeyFingerprint: HostKeyLabelValue(s.hostKey),
		Timeout:            5 * time.Second,
	}
}

// dial connects with s.config() and closes the client when the test ends.
func (s *testSSHD) dial(t testing.TB) *Client {
	t.Helper()
	client, err := Dial(t.Context(), s.config())
	if err != nil {
		t.Fatalf("Dial: %v\nsshd log:\n%s", err, s.log)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// requireSSHD skips the test when sshd is not installed, except in CI, where
// the SFTP push must be tested for real.
func requireSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (install openssh-server): the SFTP push must be tested against a real sshd in CI", sshdPath)
		}
		t.Skipf("%s is missing: install openssh-server to run the tests against a real sshd", sshdPath)
	}
}

// startSSHD starts sshd on a free loopback port and stops it when the test
// ends.
func startSSHD(t testing.TB) *testSSHD {
	t.Helper()
	requireSSHD(t)
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s := newTestSSHD(t, port)
		if lastErr = s.start(t); lastErr == nil {
			return s
		}
		// Most likely another process took the port meanwhile.
	}
	t.Fatal(lastErr)
	return nil
}

// newTestSSHD prepares keys and configuration for sshd on 127.0.0.1:port
// without starting it.
func newTestSSHD(t testing.TB, port int) *testSSHD {
	t.Helper()
	requireSSHD(t)
	dir := t.TempDir()
	current, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	hostPEM, hostKey, err := GenerateHostKey()
	if err != nil {
		t.Fatal(err)
	}
	// sshd ignores a host key that others can read.
	hostKeyPath := filepath.Join(dir, "host_ed25519")
	if err := os.WriteFile(hostKeyPath, hostPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	clientSigner := newSigner(t)
	authorizedKeys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorizedKeys, ssh.MarshalAuthorizedKey(clientSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}

	// SHLVL=1 keeps bash from sourcing the test user's ~/.bashrc for every
	// command (Debian's bash does when started by sshd), which on developer
	// machines can take seconds.
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PrintMotd no
Subsystem sftp internal-sftp
SetEnv SHLVL=1
%s`, port, hostKeyPath, filepath.Join(dir, "sshd.pid"), authorizedKeys, versionSpecificOptions())
	configPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testSSHD{
		addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		configPath: configPath,
		hostKey:    hostKey,
		client:     clientSigner,
		username:   current.Username,
		log:        &lockedBuffer{},
	}
}

// start runs sshd, waits until it accepts connections and kills it when the
// test ends.
func (s *testSSHD) start(t testing.TB) error {
	t.Helper()
	// sshd refuses to start without its privilege separation directory.
	os.MkdirAll("/run/sshd", 0o755)

	cmd := exec.Command(sshdPath, "-D", "-e", "-f", s.configPath)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	// Its own process group, so the cleanup also ends the per-connection
	// processes, which would otherwise keep the log pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log)
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("sshd on %s exited: %s", s.addr, s.log)
		default:
		}
		if conn, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd on %s did not listen within 10s: %s", s.addr, s.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// versionSpecificOptions turns off OpenSSH ≥ 9.8's per-source penalties,
// which would refuse loopback after the tests' deliberate failures; older
// versions reject the option.
func versionSpecificOptions() string {
	sshdVersionOnce.Do(func() {
		out, _ := exec.Command(sshdPath, "-V").CombinedOutput()
		if m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindSubmatch(out); m != nil {
			major, _ := strconv.Atoi(string(m[1]))
			minor, _ := strconv.Atoi(string(m[2]))
			sshdHasPenalties = major > 9 || major == 9 && minor >= 8
		}
	})
	if sshdHasPenalties {
		return "PerSourcePenalties no\n"
	}
	return ""
}

var (
	sshdVersionOnce  sync.Once
	sshdHasPenalties bool
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newSigner returns a fresh ed25519 client key.
func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// lockedBuffer collects sshd's log from its own goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLog waits until sshd's log contains want, for at most 30s.
func (b *lockedBuffer) waitForLog(want string) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return true
		}
	}
	return false
}

// silentListener accepts TCP connections and never answers, like a host
// whose sshd hangs; it closes when the test ends.
func silentListener(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// sftpServerPath is OpenSSH's stand-alone SFTP server (Debian's
// openssh-sftp-server, which openssh-server depends on).
const sftpServerPath = "/usr/lib/openssh/sftp-server"

// logSFTPRequests makes the not yet started server use the stand-alone SFTP
// server, which logs every request it serves, and returns the log's path.
func (s *testSSHD) logSFTPRequests(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(sftpServerPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (install openssh-server)", sftpServerPath)
		}
		t.Skipf("%s is missing", sftpServerPath)
	}
	logPath := filepath.Join(filepath.Dir(s.configPath), "sftp.log")
	config, err := os.ReadFile(s.configPath)
	if err != nil {
		t.Fatal(err)
	}
	// sshd runs subsystems through the user's shell, which does the
	// redirection.
	subsystem := fmt.Sprintf("Subsystem sftp %s -e -l DEBUG1 2>>%s", sftpServerPath, logPath)
	config = bytes.Replace(config, []byte("Subsystem sftp internal-sftp"), []byte(subsystem), 1)
	if err := os.WriteFile(s.configPath, config, 0o600); err != nil {
		t.Fatal(err)
	}
	return logPath
}

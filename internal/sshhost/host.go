// Package sshhost is the SSH and SFTP host that the Hetzner simulator gives each simulated
// server: public-key logins for exactly the keys cloud-init would authorize, SFTP confined to
// the server's own directory, and exec with stand-ins for systemctl, cloud-init and
// gitlab-runner that record every call.
//
// Only SFTP is confined to the server's directory. Commands run unconfined, as the user of the
// process hosting the simulator, with the server's directory as working directory and HOME; the
// host simulates a server for tests and demos and is not a sandbox.
package sshhost

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds how long a connection may take to authenticate, so stuck clients do
// not pin goroutines.
const handshakeTimeout = 10 * time.Second

// Config describes one host.
type Config struct {
	// Addr is the address to listen on, e.g. "127.0.0.2:22"; port 0 picks a free port.
	Addr string
	// Root is the directory served as "/" over SFTP and the working directory of commands.
	// It is created if missing.
	Root string
	// HostKeys are the keys the host presents; at least one is required.
	HostKeys []ssh.Signer
	// Authorized are the only public keys allowed to log in, under any user name.
	Authorized []ssh.PublicKey
	// Logf, if set, receives connection-level events. It never receives command lines, file
	// contents or keys.
	Logf func(format string, args ...any)
	// DropWrite, if set, is asked before each SFTP write of a file, with the file's path and
	// the size it would reach; when it answers true the write fails and the SSH connection
	// is closed, as a network that drops mid-push does.
	DropWrite func(path string, size int64) bool
}

// Host is a running SSH server. Its methods are safe for concurrent use.
type Host struct {
	root     string
	listener net.Listener
	logf     func(format string, args ...any)
	config   *ssh.ServerConfig
	standIns *standIns
	calls    *callLog
	drop     func(path string, size int64) bool

	mu         sync.Mutex
	authorized map[string]bool // by ssh.PublicKey.Marshal()
	conns      map[*ssh.ServerConn]bool
	processes  map[*os.Process]bool
	closed     bool
	done       chan struct{} // closed by Close

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start creates Root, installs the command stand-ins and listens on Addr. The host accepts
// connections when Start returns. If the address is taken, Start fails at once, so a caller can
// try the next loopback address.
func Start(cfg Config) (*Host, error) {
	if len(cfg.HostKeys) == 0 {
		return nil, errors.New("sshhost: no host keys")
	}
	if cfg.Root == "" {
		return nil, errors.New("sshhost: no root directory")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("sshhost: root %s: %w", cfg.Root, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("sshhost: root: %w", err)
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	h := &Host{
		root:      root,
		logf:      logf,
		calls:     newCallLog(maxCalls),
		drop:      cfg.DropWrite,
		conns:     make(map[*ssh.ServerConn]bool),
		processes: make(map[*os.Process]bool),
		done:      make(chan struct{}),
	}
	h.SetAuthorized(cfg.Authorized)
	h.config = &ssh.ServerConfig{
		PublicKeyCallback: h.checkPublicKey,
		ServerVersion:     "SSH-2.0-sshhost",
	}
	for _, key := range cfg.HostKeys {
		h.config.AddHostKey(key)
	}

	h.standIns, err = installStandIns(root)
	if err != nil {
		return nil, fmt.Errorf("sshhost: %w", err)
	}
	h.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		h.standIns.remove()
		return nil, fmt.Errorf("sshhost: listen %s: %w", cfg.Addr, err)
	}
	h.wg.Add(1)
	go h.acceptLoop()
	return h, nil
}

// Addr is the address the host listens on, with the port it actually got.
func (h *Host) Addr() string { return h.listener.Addr().String() }

// SetAuthorized replaces the keys allowed to log in. Established sessions are not affected.
func (h *Host) SetAuthorized(keys []ssh.PublicKey) {
	authorized := make(map[string]bool, len(keys))
	for _, key := range keys {
		authorized[string(key.Marshal())] = true
	}
	h.mu.Lock()
	h.authorized = authorized
	h.mu.Unlock()
}

// Calls returns the recorded calls, oldest first: one "exec" entry per command run (its
// ExitStatus is -1 while it runs) and one "stub" entry per stand-in invocation. Only the most
// recent calls are kept.
func (h *Host) Calls() []Call {
	h.standIns.collect(h.calls)
	return h.calls.snapshot()
}

// Close stops the listener, ends every session and kills the commands still running. It is
// idempotent and returns the first call's result.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		close(h.done)
		err := h.listener.Close()
		for conn := range h.conns {
			conn.Close()
		}
		for process := range h.processes {
			killGroup(process)
		}
		h.mu.Unlock()
		h.wg.Wait()
		h.standIns.collect(h.calls)
		h.standIns.remove()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			h.closeErr = fmt.Errorf("sshhost %s: close: %w", h.Addr(), err)
		}
	})
	return h.closeErr
}

func (h *Host) checkPublicKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	h.mu.Lock()
	ok := h.authorized[string(key.Marshal())]
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("public key %s not authorized", ssh.FingerprintSHA256(key))
	}
	return &ssh.Permissions{Extensions: map[string]string{"pubkey-fp": ssh.FingerprintSHA256(key)}}, nil
}

func (h *Host) acceptLoop() {
	defer h.wg.Done()
	for {
		conn, err := h.listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				h.logf("sshhost %s: accept: %v", h.Addr(), err)
			}
			return
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.serveConn(conn)
		}()
	}
}

func (h *Host) serveConn(netConn net.Conn) {
	defer netConn.Close()
	netConn.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, channels, requests, err := ssh.NewServerConn(netConn, h.config)
	if err != nil {
		h.logf("sshhost %s: handshake from %s: %v", h.Addr(), netConn.RemoteAddr(), err)
		return
	}
	netConn.SetDeadline(time.Time{})
	if !h.track(conn) {
		conn.Close()
		return
	}
	defer h.untrack(conn)
	h.logf("sshhost %s: %s logged in as %q with %s", h.Addr(), conn.RemoteAddr(), conn.User(), conn.Permissions.Extensions["pubkey-fp"])

	go ssh.DiscardRequests(requests)
	var sessions sync.WaitGroup
	for newChannel := range channels {
		if newChannel.ChannelType() != "session" {
			newChannel.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		channel, requests, err := newChannel.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			h.serveSession(conn, channel, requests)
		}()
	}
	sessions.Wait()
}

// track registers a connection so Close can end it; it refuses once the host is closed.
func (h *Host) track(conn *ssh.ServerConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[conn] = true
	return true
}

func (h *Host) untrack(conn *ssh.ServerConn) {
	h.mu.Lock()
	delete(h.conns, conn)
	h.mu.Unlock()
}

// session is the state one session channel accumulates before its exec, shell or subsystem
// request.
type session struct {
	conn    *ssh.ServerConn
	channel ssh.Channel
	env     []string

	done    chan struct{} // closed when the client has closed the session
	mu      sync.Mutex
	process *os.Process // the running command, if any
}

// kill ends the session's command, if one still runs.
func (s *session) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.process != nil {
		killGroup(s.process)
	}
}

func (h *Host) serveSession(conn *ssh.ServerConn, channel ssh.Channel, requests <-chan *ssh.Request) {
	defer channel.Close()
	s := &session{conn: conn, channel: channel, done: make(chan struct{})}
	var running sync.WaitGroup
	defer running.Wait()
	// A client that goes away takes its command with it.
	defer s.kill()
	defer close(s.done)
	started := false
	for req := range requests {
		if started {
			// After exec, shell or subsystem only signals and window changes make sense.
			s.handleLateRequest(req)
			continue
		}
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if err := ssh.Unmarshal(req.Payload, &kv); err != nil {
				req.Reply(false, nil)
				continue
			}
			s.env = append(s.env, kv.Name+"="+kv.Value)
			req.Reply(true, nil)
		case "pty-req", "window-change", "x11-req", "auth-agent-req@openssh.com":
			// Accepted so clients asking for them still work; commands run without a terminal.
			req.Reply(req.Type == "pty-req", nil)
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			started = true
			running.Go(func() {
				status := h.runCommand(s, payload.Command)
				sendExitStatus(channel, status)
				channel.Close()
			})
		case "shell":
			req.Reply(true, nil)
			started = true
			fmt.Fprintf(channel.Stderr(), "This simulated server runs commands and SFTP only; interactive shells are not available.\r\n")
			sendExitStatus(channel, 1)
			channel.Close()
		case "subsystem":
			var payload struct{ Name string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil || payload.Name != "sftp" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			started = true
			running.Go(func() {
				if err := h.serveSFTP(channel, conn); err != nil {
					h.logf("sshhost %s: sftp: %v", h.Addr(), err)
				}
				sendExitStatus(channel, 0)
				channel.Close()
			})
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// signals maps the signal names of RFC 4254 section 6.9 to signals.
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// handleLateRequest handles what may follow exec: a signal for the command; window changes and
// the rest are ignored.
func (s *session) handleLateRequest(req *ssh.Request) {
	ok := false
	if req.Type == "signal" {
		var payload struct{ Signal string }
		if ssh.Unmarshal(req.Payload, &payload) == nil {
			if sig, known := signals[payload.Signal]; known {
				s.mu.Lock()
				if s.process != nil {
					ok = syscall.Kill(-s.process.Pid, sig) == nil
				}
				s.mu.Unlock()
			}
		}
	}
	if req.WantReply {
		req.Reply(ok, nil)
	}
}

func sendExitStatus(channel ssh.Channel, status int) {
	channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// within reports whether path is dir or lies beneath it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

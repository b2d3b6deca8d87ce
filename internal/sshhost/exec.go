package sshhost

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// systemPath follows the stand-in directory on every command's PATH.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runCommand runs command with sh -c in the host's root, wired to the session channel, and
// returns its exit status. It records one "exec" call, finished with the exit status.
func (h *Host) runCommand(s *session, command string) int {
	h.standIns.collect(h.calls)
	seq := h.calls.add(Call{Time: time.Now().UTC(), Kind: "exec", Command: command, ExitStatus: -1})
	status := h.execute(s, command)
	h.standIns.collect(h.calls)
	h.calls.finish(seq, status)
	h.logf("sshhost %s: command by %q exited with status %d", h.Addr(), s.conn.User(), status)
	return status
}

func (h *Host) execute(s *session, command string) int {
	fail := func(status int, err error) int {
		fmt.Fprintf(s.channel.Stderr(), "sshhost: %v\n", err)
		return status
	}
	// Recreate the root if the server was rebuilt while this host ran.
	if err := os.MkdirAll(h.root, 0o755); err != nil {
		return fail(1, err)
	}
	// Own pipes rather than exec's copying, so that output held open by a process that left
	// the command's process group cannot keep Close or the session's end waiting.
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return fail(1, err)
	}
	defer stdoutR.Close()
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		stdoutW.Close()
		return fail(1, err)
	}
	defer stderrR.Close()

	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = h.root
	cmd.Env = h.environment(s)
	cmd.Stdout = stdoutW
	cmd.Stderr = stderrW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		return fail(127, err)
	}
	h.register(s, cmd.Process)
	defer h.unregister(s, cmd.Process)
	// Not waited for: a client may never close its stdin, and the command's end ends the session.
	go func() {
		io.Copy(stdin, s.channel)
		stdin.Close()
	}()
	var output sync.WaitGroup
	output.Go(func() { io.Copy(s.channel, stdoutR) })
	output.Go(func() { io.Copy(s.channel.Stderr(), stderrR) })
	outputDone := make(chan struct{})
	go func() {
		output.Wait()
		close(outputDone)
	}()

	err = cmd.Wait()
	stdin.Close()
	// As sshd: the session ends when the command has exited and its output is drained, which
	// includes output of background processes it left behind, unless the host or the session
	// is going away.
	select {
	case <-outputDone:
	case <-h.done:
	case <-s.done:
	}
	stdoutR.Close()
	stderrR.Close()
	<-outputDone
	return exitStatus(cmd.ProcessState, err)
}

// exitStatus is the status a shell would report: the exit code, or 128 plus the signal.
func exitStatus(state *os.ProcessState, err error) int {
	if state == nil {
		return 255
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := state.ExitCode(); code >= 0 {
		return code
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return 255
	}
	return 0
}

// environment is the minimal login environment: the stand-ins come first on PATH, HOME is the
// root, and the variables the client sent (except PATH and HOME) are kept.
func (h *Host) environment(s *session) []string {
	env := []string{
		"HOME=" + h.root,
		"PATH=" + h.standIns.dir + ":" + systemPath,
		"USER=" + s.conn.User(),
		"LOGNAME=" + s.conn.User(),
		"SHELL=/bin/sh",
	}
	for _, kv := range s.env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PATH" || name == "HOME" || name == "" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// register records a running command so Close and the end of its session can kill it.
func (h *Host) register(s *session, process *os.Process) {
	h.mu.Lock()
	closed := h.closed
	h.processes[process] = true
	h.mu.Unlock()
	s.mu.Lock()
	s.process = process
	s.mu.Unlock()
	if closed {
		killGroup(process)
	}
}

func (h *Host) unregister(s *session, process *os.Process) {
	h.mu.Lock()
	delete(h.processes, process)
	h.mu.Unlock()
	s.mu.Lock()
	s.process = nil
	s.mu.Unlock()
}

// killGroup kills a command and everything it started.
func killGroup(process *os.Process) {
	syscall.Kill(-process.Pid, syscall.SIGKILL)
}

// maxCalls bounds the calls a host remembers.
const maxCalls = 1000

// Call is one recorded command.
type Call struct {
	Time time.Time `json:"time"`
	// Kind is "exec" for a command a client ran, "stub" for a stand-in invocation.
	Kind string `json:"kind"`
	// Command is the command line for "exec", the stand-in's name for "stub".
	Command string `json:"command"`
	// Args are a stand-in's arguments.
	Args []string `json:"args,omitempty"`
	// ExitStatus is the command's exit status; -1 while an exec still runs.
	ExitStatus int `json:"exit_status"`
}

// callLog keeps the most recent calls in a ring.
type callLog struct {
	mu   sync.Mutex
	ring []Call
	next uint64 // sequence number of the next call; call n lives at ring[n%len(ring)]
}

func newCallLog(size int) *callLog { return &callLog{ring: make([]Call, size)} }

// add records a call and returns its sequence number.
func (l *callLog) add(c Call) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next
	l.ring[seq%uint64(len(l.ring))] = c
	l.next++
	return seq
}

// finish sets the exit status of call seq, unless it has left the ring.
func (l *callLog) finish(seq uint64, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next-seq <= uint64(len(l.ring)) {
		l.ring[seq%uint64(len(l.ring))].ExitStatus = status
	}
}

func (l *callLog) snapshot() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := uint64(0)
	if l.next > uint64(len(l.ring)) {
		first = l.next - uint64(len(l.ring))
	}
	calls := make([]Call, 0, l.next-first)
	for seq := first; seq < l.next; seq++ {
		c := l.ring[seq%uint64(len(l.ring))]
		c.Args = append([]string(nil), c.Args...)
		calls = append(calls, c)
	}
	return calls
}

package e2e

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a fleetctl process the test watches while it runs: its
// stderr lines as they arrive, with the time each arrived.
type process struct {
	t       testing.TB
	cmd     *exec.Cmd
	started time.Time
	stdout  bytes.Buffer
	mu      sync.Mutex
	lines   []stampedLine
	onLine  func(p *process, line string) // called for each stderr line, from the reader
	done    chan struct{}                 // closed when stderr is drained
}

type stampedLine struct {
	at   time.Duration // since start
	text string
}

// start runs fleetctl with args and -f fleet.yaml; onLine (may be nil) sees
// every stderr line as it arrives.
func (f *fleet) start(onLine func(p *process, line string), args ...string) *process {
	f.t.Helper()
	p := &process{t: f.t, onLine: onLine, done: make(chan struct{})}
	p.cmd = exec.Command(binaries.fleetctl, append(args, "-f", f.path)...)
	p.cmd.Env = f.environ()
	p.cmd.Dir = f.dir
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, stampedLine{at: time.Since(p.started), text: line})
			p.mu.Unlock()
			if p.onLine != nil {
				p.onLine(p, line)
			}
		}
	}()
	return p
}

// kill sends SIGKILL, as the OOM killer or a cancelled CI job does.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
}

// wait waits for the process and its stderr; it reports whether SIGKILL
// ended it and the time it ran.
func (p *process) wait() (killed bool, wall time.Duration) {
	<-p.done
	p.cmd.Wait()
	wall = time.Since(p.started)
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, wall
}

// stderr returns the stderr lines so far.
func (p *process) stderr() []stampedLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]stampedLine(nil), p.lines...)
}

func (p *process) stderrText() string {
	var b strings.Builder
	for _, l := range p.stderr() {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// firstLine returns when the first stderr line containing substr arrived.
func (p *process) firstLine(substr string) (time.Duration, bool) {
	for _, l := range p.stderr() {
		if strings.Contains(l.text, substr) {
			return l.at, true
		}
	}
	return 0, false
}

package reconcile

import (
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
)

// Hooks receive what Apply and Destroy do while they do it, as data. Views
// turn the events into output: planview's text view prints their lines on
// stderr, its JSON view encodes them one object per line. Each event's
// String is its one line in the human view; it lives with the event, not
// the view, so that a caller with only a writer (ApplyOptions.Progress)
// gets the very lines the text view prints, and the JSON view can carry
// the same line as its message.
//
// Apply calls hooks from concurrent goroutines: an implementation
// serializes its own output. Apply waits for a hook to return, so hooks do
// no I/O that can block for long. Implementations embed NoHooks, so that
// new events (an apply lock taken or waited for, a drain's running jobs)
// can be added as methods without breaking them.
type Hooks interface {
	// PreOp is called when Apply or Destroy starts an operation on a
	// resource: creating, destroying, setting rules, writing a file,
	// connecting to the manager...
	PreOp(Op)
	// PostChange is called once a resource's change is complete, with
	// what was done. It is called for each Result Apply returns.
	PostChange(Result)
	// Waiting reports a Hetzner action waited on: when the wait starts,
	// every few seconds while the action runs, and when it ends.
	Waiting(ActionWait)
	// Retrying reports a request to Hetzner that failed in a way worth
	// retrying (see RetryPolicy) and is sent again after a wait.
	Retrying(Retry)
	// Notice reports something worth knowing that does not stop the
	// operation, such as a resource found that an interrupted apply
	// created.
	Notice(Notice)
	// Lock reports the apply lock taken, waited for, taken over from
	// an expired holder, released or lost.
	Lock(LockEvent)
}

// NoHooks ignores every event. Embed it in a Hooks implementation to
// implement only the events it shows.
type NoHooks struct{}

// PreOp does nothing.
func (NoHooks) PreOp(Op) {}

// PostChange does nothing.
func (NoHooks) PostChange(Result) {}

// Waiting does nothing.
func (NoHooks) Waiting(ActionWait) {}

// Retrying does nothing.
func (NoHooks) Retrying(Retry) {}

// Notice does nothing.
func (NoHooks) Notice(Notice) {}

// Lock does nothing.
func (NoHooks) Lock(LockEvent) {}

var _ Hooks = NoHooks{}

// OpKind names an operation Apply or Destroy starts on a resource.
type OpKind string

// The operations. Their names are part of the JSON event stream.
const (
	OpCreate OpKind = "create"
	OpDelete OpKind = "delete"
	// OpSetRules replaces a firewall's rules with one set_rules.
	OpSetRules OpKind = "set_rules"
	// OpDetach removes a firewall from a label selector or a server it
	// applies to, before the firewall is deleted.
	OpDetach OpKind = "detach"
	// OpShutdown shuts the manager down gracefully to change its type.
	OpShutdown OpKind = "shutdown"
	// OpPowerOff powers the manager off when the graceful shutdown did
	// not end within ApplyOptions.ShutdownTimeout.
	OpPowerOff OpKind = "poweroff"
	// OpConnect dials the manager over SSH.
	OpConnect OpKind = "connect"
	// OpCloudInit waits for cloud-init on the manager to finish.
	OpCloudInit OpKind = "cloud_init"
	// OpWrite writes one of the manager's files.
	OpWrite OpKind = "write"
	// OpSetAttributes sets a file's owner (root:root) and mode.
	OpSetAttributes OpKind = "set_attributes"
	// OpRecordDigest rewrites the digest record of an unchanged file.
	OpRecordDigest OpKind = "record_digest"
	// OpRestart restarts gitlab-runner on the manager.
	OpRestart OpKind = "restart"
)

// Op is an operation Apply or Destroy starts on one resource. Besides the
// address and kind, only the fields of its kind are set. No field ever
// holds a secret: files are described by path, size and mode.
type Op struct {
	Addr Addr
	Kind OpKind
	// ID is the resource's Hetzner ID when it exists (delete).
	ID int64
	// Server is the manager's name (connect, cloud_init, restart) and
	// Endpoint its SSH address, host:port (connect).
	Server   string
	Endpoint string
	// Path, Size and Mode describe a file written (write) or whose
	// owner and mode are set (set_attributes, without Size);
	// DigestRecord is the record rewritten (record_digest, with Path).
	Path         string
	Size         int64
	Mode         fs.FileMode
	DigestRecord string
	// Rules is how many rules a set_rules sets.
	Rules int
	// From is what a firewall is detached from: "label selector runner"
	// or "server NAME (id N)" (detach).
	From string
	// Status is the server's status when a graceful shutdown timed out
	// after Timeout (poweroff).
	Status  string
	Timeout time.Duration
}

// String is the operation's line in the human view.
func (o Op) String() string {
	switch o.Kind {
	case OpCreate:
		return fmt.Sprintf("%s: Creating...", o.Addr)
	case OpDelete:
		return fmt.Sprintf("%s: Destroying... [id=%d]", o.Addr, o.ID)
	case OpSetRules:
		return fmt.Sprintf("%s: Setting %d rules...", o.Addr, o.Rules)
	case OpDetach:
		return fmt.Sprintf("%s: Detaching firewall %s from %s", o.Addr, o.Addr.Name(), o.From)
	case OpShutdown:
		return fmt.Sprintf("%s: Shutting down to change the server type...", o.Addr)
	case OpPowerOff:
		return fmt.Sprintf("%s: still %s after %s: powering off", o.Addr, o.Status, o.Timeout)
	case OpConnect:
		return fmt.Sprintf("Connecting to %s (%s) over SSH...", o.Server, o.Endpoint)
	case OpCloudInit:
		return fmt.Sprintf("Waiting for cloud-init on %s...", o.Server)
	case OpWrite:
		return fmt.Sprintf("%s: Writing %s (%d bytes, mode %s)...", o.Addr, o.Path, o.Size, modeString(o.Mode))
	case OpSetAttributes:
		return fmt.Sprintf("%s: Setting owner root:root and mode %s on %s...", o.Addr, permString(o.Mode), o.Path)
	case OpRecordDigest:
		return fmt.Sprintf("%s: Recording the digest of %s in %s...", o.Addr, o.Path, o.DigestRecord)
	case OpRestart:
		return fmt.Sprintf("Restarting gitlab-runner on %s (plugin settings changed)...", o.Server)
	}
	return fmt.Sprintf("%s: %s...", o.Addr, o.Kind)
}

// WaitState is where a wait on a Hetzner action stands.
type WaitState string

// The wait states. Their names are part of the JSON event stream.
const (
	WaitStarted WaitState = "start"
	WaitRunning WaitState = "progress"
	WaitDone    WaitState = "complete"
	WaitFailed  WaitState = "errored"
)

// ActionWait is one report of a wait on a Hetzner action.
type ActionWait struct {
	State  WaitState
	Action CloudAction
	// Elapsed is the time since the wait started.
	Elapsed time.Duration
}

// String is the wait's line in the human view, as the hcloud CLI words
// it: "Waiting for create_server (server: 42) ... done (1.2s)".
func (w ActionWait) String() string {
	what := describeAction(w.Action)
	switch w.State {
	case WaitRunning:
		return fmt.Sprintf("Waiting for %s ... %d%% (%s)", what, w.Action.Progress, w.Elapsed.Round(time.Second))
	case WaitDone:
		return fmt.Sprintf("Waiting for %s ... done (%s)", what, w.Elapsed.Round(100*time.Millisecond))
	case WaitFailed:
		return fmt.Sprintf("Waiting for %s ... failed: %s", what, w.Action.Error)
	}
	return "Waiting for " + what
}

// Retry is a wait before a request to Hetzner is sent again: on the rate
// limit (until when), or after a failed attempt. Its String is the line the
// human view prints. The Hetzner client layer words and times it.
type Retry = hcloudclient.Wait

// Notice is something worth knowing about a resource that does not stop
// the operation.
type Notice struct {
	Addr    Addr
	Message string
}

// String is the notice's line in the human view.
func (n Notice) String() string { return string(n.Addr) + ": " + n.Message }

// lineHooks returns hooks that write each event's line to w, as
// planview's text view does: the progress of a caller that gives only a
// writer (ApplyOptions.Progress, SessionOptions.Progress). Results are not
// written: Apply returns them.
func lineHooks(w io.Writer) Hooks {
	if w == nil || w == io.Discard {
		return NoHooks{}
	}
	return &lineWriter{w: w}
}

type lineWriter struct {
	NoHooks
	mu sync.Mutex
	w  io.Writer
}

func (h *lineWriter) line(s fmt.Stringer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintln(h.w, s.String())
}

func (h *lineWriter) PreOp(o Op)           { h.line(o) }
func (h *lineWriter) Waiting(w ActionWait) { h.line(w) }
func (h *lineWriter) Retrying(r Retry)     { h.line(r) }
func (h *lineWriter) Notice(n Notice)      { h.line(n) }
func (h *lineWriter) Lock(e LockEvent)     { h.line(e) }

// maskedHooks pass events on with every secret value the session resolved
// masked in their text, so that no view can print one: a notice carries an
// error's text, and paths and servers come from fleet.yaml.
type maskedHooks struct {
	next    Hooks
	secrets *Secrets
}

func (m maskedHooks) PreOp(o Op) {
	r := m.secrets.Redact
	o.Server, o.Endpoint, o.Path, o.DigestRecord, o.From, o.Status = r(o.Server), r(o.Endpoint), r(o.Path), r(o.DigestRecord), r(o.From), r(o.Status)
	m.next.PreOp(o)
}

func (m maskedHooks) PostChange(res Result) {
	res.Verb = m.secrets.Redact(res.Verb)
	m.next.PostChange(res)
}

func (m maskedHooks) Waiting(w ActionWait) {
	w.Action.Error = m.secrets.Redact(w.Action.Error)
	m.next.Waiting(w)
}

func (m maskedHooks) Retrying(r Retry) {
	r.Path, r.Status = m.secrets.Redact(r.Path), m.secrets.Redact(r.Status)
	m.next.Retrying(r)
}

func (m maskedHooks) Notice(n Notice) {
	n.Message = m.secrets.Redact(n.Message)
	m.next.Notice(n)
}

func (m maskedHooks) Lock(e LockEvent) {
	r := m.secrets.Redact
	e.Holder.Holder, e.Holder.Host, e.Holder.Job = r(e.Holder.Holder), r(e.Holder.Host), r(e.Holder.Job)
	m.next.Lock(e)
}

package planview

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/reconcile"
)

// NewTextHooks returns the human view of apply's and destroy's progress:
// one line per operation started, action waited on, retry and notice, as
// the hcloud CLI and Terraform word them, for stderr. Results are not
// shown: the command prints them on stdout once the apply ends.
func NewTextHooks(w io.Writer) reconcile.Hooks { return &textHooks{w: w} }

type textHooks struct {
	reconcile.NoHooks
	mu sync.Mutex
	w  io.Writer
}

func (h *textHooks) line(s fmt.Stringer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintln(h.w, s.String())
}

func (h *textHooks) PreOp(o reconcile.Op)           { h.line(o) }
func (h *textHooks) Waiting(w reconcile.ActionWait) { h.line(w) }
func (h *textHooks) Retrying(r reconcile.Retry)     { h.line(r) }
func (h *textHooks) Notice(n reconcile.Notice)      { h.line(n) }
func (h *textHooks) Lock(e reconcile.LockEvent)     { h.line(e) }

// EventFormatVersion is the version of the JSON event stream that
// `apply -o json` and `destroy -o json` write. Consumers should accept any
// 1.x: within 1.x, event types and fields are only added.
const EventFormatVersion = "1.0"

// The event types of the JSON stream, in the order they can appear.
const (
	EventVersion        = "version"         // first line: format_version, operation
	EventPlannedChange  = "planned_change"  // apply: one per change the plan makes
	EventChangeStart    = "change_start"    // an operation on a resource starts
	EventActionStart    = "action_start"    // waiting on a Hetzner action starts
	EventActionProgress = "action_progress" // a long action still runs
	EventActionComplete = "action_complete" // the action succeeded
	EventActionErrored  = "action_errored"  // the action failed
	EventRetry          = "retry"           // a Hetzner request is retried
	EventNotice         = "notice"          // worth knowing, not a failure
	EventLock           = "lock"            // the apply lock acquired, waited for, taken over, released or lost
	EventChangeComplete = "change_complete" // a resource's change is done
	EventSummary        = "summary"         // last line of a success
	EventError          = "error"           // last line of a failure
)

// Event is one line of the JSON event stream. Every event has a type, a
// timestamp (RFC 3339, UTC) and a message, the line the human view would
// print; the other fields depend on the type. No field holds a secret.
type Event struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"`
	// Address is the resource's address, e.g. hcloud_server.runner-manager.
	Address string `json:"address,omitempty"`
	// Action is what is done: the plan's action (planned_change), the
	// operation (change_start: create, delete, set_rules, shutdown,
	// poweroff, connect, cloud_init, write, record_digest, restart) or
	// Hetzner's action command (action_*, e.g. create_server).
	Action string `json:"action,omitempty"`
	// ID is the resource's Hetzner ID when it is known.
	ID int64 `json:"id,omitempty"`

	FormatVersion string `json:"format_version,omitempty"` // version
	Operation     string `json:"operation,omitempty"`      // version, summary: apply or destroy
	Reason        string `json:"reason,omitempty"`         // planned_change
	Result        string `json:"result,omitempty"`         // change_complete: created, updated, destroyed, written...

	// change_start details.
	Server       string `json:"server,omitempty"`
	Endpoint     string `json:"endpoint,omitempty"`
	Path         string `json:"path,omitempty"`
	Size         *int64 `json:"size,omitempty"`
	Mode         string `json:"mode,omitempty"`
	DigestRecord string `json:"digest_record,omitempty"`
	Rules        *int   `json:"rules,omitempty"`
	Status       string `json:"status,omitempty"`
	From         string `json:"from,omitempty"`

	HCloudAction   *HCloudAction `json:"hcloud_action,omitempty"`   // action_*
	ElapsedSeconds *float64      `json:"elapsed_seconds,omitempty"` // action_progress, action_complete, action_errored
	Retry          *RetryInfo    `json:"retry,omitempty"`           // retry
	Changes        *ChangeCounts `json:"changes,omitempty"`         // summary
	Lock           *LockInfo     `json:"lock,omitempty"`            // lock
}

// HCloudAction is a Hetzner action as the events show it.
type HCloudAction struct {
	ID        int64    `json:"id"`
	Command   string   `json:"command"`
	Status    string   `json:"status"`
	Progress  int      `json:"progress"`
	Error     string   `json:"error,omitempty"`
	Resources []string `json:"resources,omitempty"`
}

// RetryInfo is a wait before a retried request, as the events show it.
type RetryInfo struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// RateLimited is set for a wait on the rate limit; Reset is then the
	// API's RateLimit-Reset, when it sent one.
	RateLimited bool   `json:"rate_limited,omitempty"`
	Reset       string `json:"reset,omitempty"`
	// Status is the failed attempt's answer or transport error.
	Status string `json:"status,omitempty"`
	// Attempt is the attempt that failed, of MaxAttempts.
	Attempt     int `json:"attempt"`
	MaxAttempts int `json:"max_attempts"`
	// Until is when the request is sent again.
	Until string `json:"until"`
}

// LockInfo is an apply lock event's details: its state (acquired,
// waiting, take_over, released, lost), the lock's name, and its holder,
// this process or the other one (waiting, take_over).
type LockInfo struct {
	State     string `json:"state"`
	Name      string `json:"name"`
	Holder    string `json:"holder"`
	Host      string `json:"host"`
	PID       int    `json:"pid,omitempty"`
	Job       string `json:"job,omitempty"`
	Operation string `json:"operation,omitempty"`
	Since     string `json:"since,omitempty"`
	Expires   string `json:"expires,omitempty"`
}

// ChangeCounts are a summary's numbers, as Terraform counts them: a
// replace is one add and one destroy.
type ChangeCounts struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
}

// JSONHooks is the JSON view of apply's and destroy's progress: every
// event one JSON object on one line (JSON Lines), for stdout, like
// `terraform apply -json`. Besides the Hooks events the command writes the
// stream's first line (Version), the plan (Plan) and its last line (Summary
// or Error).
type JSONHooks struct {
	reconcile.NoHooks
	// Now stamps the events; nil means time.Now.
	Now func() time.Time

	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONHooks returns the JSON view writing to w.
func NewJSONHooks(w io.Writer) *JSONHooks {
	return &JSONHooks{enc: json.NewEncoder(w)}
}

var _ reconcile.Hooks = (*JSONHooks)(nil)

func (h *JSONHooks) emit(e Event) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	e.Timestamp = now().UTC().Format(time.RFC3339Nano)
	h.mu.Lock()
	defer h.mu.Unlock()
	// A write error (a closed stdout) cannot be reported anywhere better;
	// the apply itself goes on.
	_ = h.enc.Encode(e)
}

// Version writes the stream's first line, naming the operation (apply or
// destroy) and the format version.
func (h *JSONHooks) Version(operation string) {
	h.emit(Event{Type: EventVersion, FormatVersion: EventFormatVersion, Operation: operation,
		Message: "fleetctl " + operation + ", event format " + EventFormatVersion})
}

// Plan writes one planned_change per change the plan makes, in the plan's
// order.
func (h *JSONHooks) Plan(p *reconcile.Plan) {
	for _, ch := range p.Changes {
		if ch.Action == reconcile.NoOp {
			continue
		}
		msg := fmt.Sprintf("%s: Plan to %s", ch.Addr, ch.Action)
		if ch.Reason != "" {
			msg += " (" + ch.Reason + ")"
		}
		h.emit(Event{Type: EventPlannedChange, Address: string(ch.Addr), Action: ch.Action.String(), ID: ch.ID,
			Reason: ch.Reason, Message: msg})
	}
}

// Summary writes the last line of a successful operation.
func (h *JSONHooks) Summary(operation string, c reconcile.Counts) {
	msg := fmt.Sprintf("Apply complete! Resources: %d added, %d changed, %d destroyed.", c.Add, c.Change, c.Destroy)
	if operation == "destroy" {
		msg = fmt.Sprintf("Destroy complete! Resources: %d destroyed.", c.Destroy)
	}
	h.emit(Event{Type: EventSummary, Operation: operation, Changes: &ChangeCounts{c.Add, c.Change, c.Destroy}, Message: msg})
}

// Error writes the last line of a failed operation. Errors never hold a
// secret (see reconcile).
func (h *JSONHooks) Error(err error) {
	h.emit(Event{Type: EventError, Message: err.Error()})
}

// PreOp writes a change_start event.
func (h *JSONHooks) PreOp(o reconcile.Op) {
	e := Event{Type: EventChangeStart, Address: string(o.Addr), Action: string(o.Kind), ID: o.ID, Message: o.String(),
		Server: o.Server, Endpoint: o.Endpoint, Path: o.Path, DigestRecord: o.DigestRecord, Status: o.Status, From: o.From}
	switch o.Kind {
	case reconcile.OpWrite:
		size := o.Size
		e.Size, e.Mode = &size, fmt.Sprintf("%04o", uint32(o.Mode.Perm()))
	case reconcile.OpSetRules:
		rules := o.Rules
		e.Rules = &rules
	}
	h.emit(e)
}

// PostChange writes a change_complete event.
func (h *JSONHooks) PostChange(r reconcile.Result) {
	h.emit(Event{Type: EventChangeComplete, Address: string(r.Addr), Result: r.Verb, Message: r.String()})
}

// Waiting writes an action_start, action_progress, action_complete or
// action_errored event.
func (h *JSONHooks) Waiting(w reconcile.ActionWait) {
	types := map[reconcile.WaitState]string{reconcile.WaitStarted: EventActionStart, reconcile.WaitRunning: EventActionProgress,
		reconcile.WaitDone: EventActionComplete, reconcile.WaitFailed: EventActionErrored}
	e := Event{Type: types[w.State], Action: w.Action.Command, Message: w.String(),
		HCloudAction: &HCloudAction{ID: w.Action.ID, Command: w.Action.Command, Status: w.Action.Status,
			Progress: w.Action.Progress, Error: w.Action.Error, Resources: w.Action.Resources}}
	if w.State != reconcile.WaitStarted {
		s := w.Elapsed.Seconds()
		e.ElapsedSeconds = &s
	}
	h.emit(e)
}

// Retrying writes a retry event.
func (h *JSONHooks) Retrying(r reconcile.Retry) {
	info := &RetryInfo{Method: r.Method, Path: r.Path, RateLimited: r.RateLimited, Status: r.Status,
		Attempt: r.Attempt, MaxAttempts: r.MaxAttempts, Until: r.Until.UTC().Format(time.RFC3339Nano)}
	if !r.Reset.IsZero() {
		info.Reset = r.Reset.UTC().Format(time.RFC3339)
	}
	h.emit(Event{Type: EventRetry, Message: r.String(), Retry: info})
}

// Notice writes a notice event.
func (h *JSONHooks) Notice(n reconcile.Notice) {
	h.emit(Event{Type: EventNotice, Address: string(n.Addr), Message: n.String()})
}

// Lock writes a lock event.
func (h *JSONHooks) Lock(e reconcile.LockEvent) {
	info := &LockInfo{State: string(e.State), Name: e.Name, Holder: e.Holder.Holder, Host: e.Holder.Host, PID: e.Holder.PID,
		Job: e.Holder.Job, Operation: e.Holder.Operation}
	if !e.Holder.Since.IsZero() {
		info.Since = e.Holder.Since.UTC().Format(time.RFC3339)
	}
	if !e.Holder.Expires.IsZero() {
		info.Expires = e.Holder.Expires.UTC().Format(time.RFC3339)
	}
	h.emit(Event{Type: EventLock, Message: e.String(), Lock: info})
}

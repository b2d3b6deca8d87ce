package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/internal/crash"
)

// ApplyOptions are what Apply needs besides the plan.
type ApplyOptions struct {
	Cloud Cloud
	// Desired supplies what the plan leaves out: file contents and the
	// manager's cloud-init. Its fingerprint must be the plan's.
	Desired *Desired
	// Connector reaches the manager; nil when no SSH key is at hand, with
	// NoConnectorReason saying why.
	Connector         Connector
	NoConnectorReason string
	// AllowDestroy permits deletes and replaces.
	AllowDestroy bool
	// Hooks receive what Apply does while it does it (see Hooks).
	Hooks Hooks
	// Progress, when Hooks is nil, receives each event's line as
	// planview's text view words it.
	Progress io.Writer
	// ServerPoll is how often a shutting-down server is polled; default 1 s.
	ServerPoll time.Duration
	// ShutdownTimeout bounds a graceful shutdown before a hard power
	// off; default 2 min.
	ShutdownTimeout time.Duration
	// ReadyTimeout bounds waiting for the manager's SSH and cloud-init;
	// default 15 min.
	ReadyTimeout time.Duration
}

// Result is one thing Apply did, in the past tense:
// "hcloud_ssh_key.dev created".
type Result struct {
	Addr Addr
	Verb string
}

func (r Result) String() string { return string(r.Addr) + " " + r.Verb }

// CheckApplicable returns why the plan cannot be applied as is, before
// anything changes: conflicts, missing secrets, destructive changes without
// permission, a plan made for another fleet.yaml.
func CheckApplicable(p *Plan, opts ApplyOptions) error {
	var errs []error
	for _, e := range p.Errors {
		errs = append(errs, errors.New(e))
	}
	for _, n := range p.NotCompared {
		if n.Blocking {
			errs = append(errs, fmt.Errorf("%s: %s", n.Subject, n.Message))
		}
	}
	if opts.Desired != nil && opts.Desired.Fingerprint() != p.DesiredFingerprint {
		errs = append(errs, errors.New("the plan was made for another fleet.yaml or other secrets: make a new plan"))
	}
	needSSH := false
	for _, ch := range p.Changes {
		if ch.Action == NoOp {
			continue
		}
		if row, _ := kindOf(ch.Addr.Kind()); row.onManager {
			needSSH = true
		}
		if (ch.Action == Delete || ch.Action.IsReplace()) && !opts.AllowDestroy {
			why := ch.Reason
			if why == "" {
				why = ch.Action.String()
			}
			errs = append(errs, fmt.Errorf("%s would be %s (%s): destructive changes need --allow-destroy", ch.Addr, pastTense(ch.Action), why))
		}
	}
	if needSSH && opts.Connector == nil {
		errs = append(errs, fmt.Errorf("the manager's files need SSH: %s", opts.NoConnectorReason))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nothing was changed:\n  %w", joinIndented(errs))
	}
	return nil
}

func pastTense(a Action) string {
	switch a {
	case Delete:
		return "destroyed"
	case DeleteThenCreate, CreateThenDelete:
		return "replaced"
	}
	return a.String()
}

type indentedErrors []error

func (e indentedErrors) Error() string {
	var parts []string
	for _, err := range e {
		parts = append(parts, err.Error())
	}
	return strings.Join(parts, "\n  ")
}

func (e indentedErrors) Unwrap() []error { return e }

func joinIndented(errs []error) error { return indentedErrors(errs) }

// Apply executes the plan. It never compares anything: what to do is in the
// plan's steps. It returns what it did, also when it fails half-way.
func Apply(ctx context.Context, p *Plan, opts ApplyOptions) ([]Result, error) {
	if err := CheckApplicable(p, opts); err != nil {
		return nil, err
	}
	if opts.Hooks == nil {
		opts.Hooks = lineHooks(opts.Progress)
	}
	if opts.ServerPoll <= 0 {
		opts.ServerPoll = time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 2 * time.Minute
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 15 * time.Minute
	}
	a := &applier{opts: opts, plan: p, keyIDs: keptKeyIDs(p)}
	err := a.run(ctx)
	res := a.done()
	sort.SliceStable(res, func(i, j int) bool { return addrLess(res[i].Addr, res[j].Addr) })
	return res, err
}

// applier is one run of Apply (or Destroy). Changes of one phase run in
// goroutines of their own, so everything below mu is read and written
// under it.
type applier struct {
	opts ApplyOptions
	plan *Plan

	mu      sync.Mutex
	results []Result
	// keyIDs are the SSH keys' IDs by name, for the manager's create:
	// kept keys' from the plan, created ones' once the first phase did.
	keyIDs map[string]int64
	// manager is the manager server after the server phase.
	manager *Server
	// deferred are the actions waitLater left for the end of the apply.
	deferred []deferredAction
}

// record notes a change as done and tells the hooks.
func (a *applier) record(addr Addr, verb string) {
	a.mu.Lock()
	a.results = append(a.results, Result{addr, verb})
	a.mu.Unlock()
	a.opts.Hooks.PostChange(Result{addr, verb})
}

func (a *applier) done() []Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Result(nil), a.results...)
}

// op tells the hooks that an operation starts.
func (a *applier) op(o Op) { a.opts.Hooks.PreOp(o) }

// run applies the plan's changes phase by phase (see kindApply), then
// waits for the actions left for later, then deletes in reverse order.
func (a *applier) run(ctx context.Context) error {
	phases := ApplyOrder
	for _, phase := range phases {
		var cloud, onManager []Change
		for _, ch := range a.changesOf(phase, false) {
			if row, _ := kindOf(ch.Addr.Kind()); row.onManager {
				onManager = append(onManager, ch)
			} else {
				cloud = append(cloud, ch)
			}
		}
		if len(cloud) > 0 {
			if err := a.concurrently(ctx, cloud); err != nil {
				return err
			}
		}
		if len(onManager) > 0 {
			if err := a.applyFiles(ctx, onManager); err != nil {
				return err
			}
		}
	}
	if err := a.waitDeferred(ctx); err != nil {
		return err
	}
	for i := len(phases) - 1; i >= 0; i-- {
		if err := a.concurrently(ctx, a.changesOf(phases[i], true)); err != nil {
			return err
		}
	}
	return nil
}

// changesOf returns the plan's changes of the given kinds that change
// something: its deletes, or everything else.
func (a *applier) changesOf(kinds []Kind, deletes bool) []Change {
	var out []Change
	for _, ch := range a.plan.Changes {
		if ch.Action == NoOp || (ch.Action == Delete) != deletes {
			continue
		}
		if slices.Contains(kinds, ch.Addr.Kind()) {
			out = append(out, ch)
		}
	}
	return out
}

// waitLater defers waiting for actions nothing later depends on to the
// end of the apply (before deletes), taking them off the critical path.
func (a *applier) waitLater(addr Addr, acts []CloudAction) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, act := range acts {
		if act.ID != 0 {
			a.deferred = append(a.deferred, deferredAction{addr, act})
		}
	}
}

type deferredAction struct {
	addr Addr
	act  CloudAction
}

func (a *applier) waitDeferred(ctx context.Context) error {
	a.mu.Lock()
	deferred := a.deferred
	a.deferred = nil
	a.mu.Unlock()
	var errs []error
	for _, addr := range uniqueAddrs(deferred) {
		var acts []CloudAction
		for _, d := range deferred {
			if d.addr == addr {
				acts = append(acts, d.act)
			}
		}
		if err := a.wait(ctx, acts...); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		}
	}
	return errors.Join(errs...)
}

func uniqueAddrs(ds []deferredAction) []Addr {
	var out []Addr
	seen := map[Addr]bool{}
	for _, d := range ds {
		if !seen[d.addr] {
			seen[d.addr] = true
			out = append(out, d.addr)
		}
	}
	return out
}

func (a *applier) concurrently(ctx context.Context, changes []Change) error {
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, ch := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer crash.Recover(&errs[i])
			errs[i] = a.applyChange(ctx, ch)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// applyChange applies one change with its kind's apply or delete.
func (a *applier) applyChange(ctx context.Context, ch Change) error {
	row, _ := kindOf(ch.Addr.Kind())
	do := row.apply
	if ch.Action == Delete {
		do = row.delete
	}
	var err error
	if do == nil {
		err = fmt.Errorf("no way to apply %s", ch.Addr.Kind())
	} else {
		err = do(a, ctx, ch)
	}
	if IsForbidden(err) {
		return fmt.Errorf("%s: %w (apply needs a token with read & write permission)", ch.Addr, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ch.Addr, err)
	}
	return nil
}

// wait waits on actions, reporting hcloud-CLI-like progress to the hooks.
func (a *applier) wait(ctx context.Context, actions ...CloudAction) error {
	var pending []CloudAction
	for _, act := range actions {
		if act.ID != 0 {
			pending = append(pending, act)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	started := time.Now()
	lastShown := map[int64]time.Time{}
	for _, act := range pending {
		a.opts.Hooks.Waiting(ActionWait{State: WaitStarted, Action: act})
		lastShown[act.ID] = started
	}
	return a.opts.Cloud.WaitFor(ctx, func(u CloudAction) {
		switch u.Status {
		case ActionRunning:
			// Long actions (a server's create takes tens of seconds)
			// show their progress every few seconds, for CI logs.
			if time.Since(lastShown[u.ID]) >= progressEvery {
				lastShown[u.ID] = time.Now()
				a.opts.Hooks.Waiting(ActionWait{State: WaitRunning, Action: u, Elapsed: time.Since(started)})
			}
		case ActionSuccess:
			a.opts.Hooks.Waiting(ActionWait{State: WaitDone, Action: u, Elapsed: time.Since(started)})
		case ActionError:
			a.opts.Hooks.Waiting(ActionWait{State: WaitFailed, Action: u, Elapsed: time.Since(started)})
		}
	}, pending...)
}

// progressEvery is how often a running action's progress is shown.
const progressEvery = 5 * time.Second

func describeAction(act CloudAction) string {
	if len(act.Resources) == 0 {
		return act.Command
	}
	return act.Command + " (" + strings.Join(act.Resources, ", ") + ")"
}

func verbFor(ch Change) string {
	switch ch.Action {
	case Create:
		return "created"
	case Update:
		for _, s := range ch.Steps {
			if s == StepAdopt {
				return "adopted"
			}
		}
		return "updated"
	case DeleteThenCreate, CreateThenDelete:
		return "replaced"
	case Delete:
		return "destroyed"
	}
	return "unchanged"
}

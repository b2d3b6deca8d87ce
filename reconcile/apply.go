package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/spec"
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
	// Progress receives progress lines (stderr in the CLI).
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

// ApplyOrder is the order Apply runs changes in, as data: each phase runs
// after the previous one finished; changes within a phase run concurrently.
// Deletes run the phases in reverse, after everything else.
var ApplyOrder = [][]Kind{{KindSSHKey, KindFirewall}, {KindServer}, {KindFile, KindService}}

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
		if k := ch.Addr.Kind(); k == KindFile || k == KindService {
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
	if opts.Progress == nil {
		opts.Progress = io.Discard
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
	a := &applier{opts: opts, plan: p, keyIDs: map[string]int64{}}
	for _, ch := range p.Changes {
		if ch.Addr.Kind() == KindSSHKey && ch.ID != 0 && ch.Action != Delete && !ch.Action.IsReplace() {
			a.keyIDs[ch.Addr.Name()] = ch.ID
		}
	}
	err := a.run(ctx)
	res := a.done()
	sort.SliceStable(res, func(i, j int) bool { return addrLess(res[i].Addr, res[j].Addr) })
	return res, err
}

type applier struct {
	opts ApplyOptions
	plan *Plan

	mu      sync.Mutex
	results []Result
	keyIDs  map[string]int64
	// manager is the manager server after the server phase.
	manager  *Server
	deferred []deferredAction
}

func (a *applier) record(addr Addr, verb string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.results = append(a.results, Result{addr, verb})
}

func (a *applier) done() []Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Result(nil), a.results...)
}

func (a *applier) progressf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.opts.Progress, format+"\n", args...)
}

func (a *applier) run(ctx context.Context) error {
	byKind := func(kinds []Kind, deletes bool) []Change {
		var out []Change
		for _, ch := range a.plan.Changes {
			if ch.Action == NoOp || (ch.Action == Delete) != deletes {
				continue
			}
			for _, k := range kinds {
				if ch.Addr.Kind() == k {
					out = append(out, ch)
				}
			}
		}
		return out
	}
	for _, phase := range ApplyOrder {
		changes := byKind(phase, false)
		if len(changes) == 0 {
			continue
		}
		if phase[0] == KindFile {
			if err := a.applyFiles(ctx, append(changes, a.digestRepairs()...)); err != nil {
				return err
			}
			continue
		}
		if err := a.concurrently(ctx, changes); err != nil {
			return err
		}
	}
	if err := a.waitDeferred(ctx); err != nil {
		return err
	}
	for i := len(ApplyOrder) - 1; i >= 0; i-- {
		if err := a.concurrently(ctx, byKind(ApplyOrder[i], true)); err != nil {
			return err
		}
	}
	return nil
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
			errs[i] = a.applyChange(ctx, ch)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *applier) applyChange(ctx context.Context, ch Change) error {
	var err error
	switch ch.Addr.Kind() {
	case KindSSHKey:
		err = a.applySSHKey(ctx, ch)
	case KindFirewall:
		err = a.applyFirewall(ctx, ch)
	case KindServer:
		err = a.applyServer(ctx, ch)
	default:
		err = fmt.Errorf("no way to apply %s", ch.Addr.Kind())
	}
	if IsForbidden(err) {
		return fmt.Errorf("%s: %w (apply needs a token with read & write permission)", ch.Addr, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ch.Addr, err)
	}
	return nil
}

// wait waits on actions, printing hcloud-CLI-like progress.
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
		a.progressf("Waiting for %s", describeAction(act))
		lastShown[act.ID] = started
	}
	return a.opts.Cloud.WaitFor(ctx, func(u CloudAction) {
		switch u.Status {
		case ActionRunning:
			// Long actions (a server's create takes tens of seconds)
			// show their progress every few seconds, for CI logs.
			if time.Since(lastShown[u.ID]) >= progressEvery {
				lastShown[u.ID] = time.Now()
				a.progressf("Waiting for %s ... %d%% (%s)", describeAction(u), u.Progress, time.Since(started).Round(time.Second))
			}
		case ActionSuccess:
			a.progressf("Waiting for %s ... done (%s)", describeAction(u), time.Since(started).Round(100*time.Millisecond))
		case ActionError:
			a.progressf("Waiting for %s ... failed: %s", describeAction(u), u.Error)
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

// desiredLabels returns the labels a change's After values ask for, with
// the ownership and internal labels from the desired state.
func (a *applier) sshKeyByName(name string) (DesiredSSHKey, bool) {
	for _, k := range a.opts.Desired.SSHKeys {
		if k.Name == name {
			return k, true
		}
	}
	return DesiredSSHKey{}, false
}

func (a *applier) firewallByName(name string) (DesiredFirewall, bool) {
	for _, f := range a.opts.Desired.Firewalls {
		if f.Name == name {
			return f, true
		}
	}
	return DesiredFirewall{}, false
}

func (a *applier) applySSHKey(ctx context.Context, ch Change) error {
	c := a.opts.Cloud
	name := ch.Addr.Name()
	if ch.Action == Delete {
		a.progressf("%s: Destroying... [id=%d]", ch.Addr, ch.ID)
		if err := c.DeleteSSHKey(ctx, ch.ID); err != nil && !IsNotFound(err) {
			return fmt.Errorf("delete: %w", err)
		}
		a.record(ch.Addr, "destroyed")
		return nil
	}
	dk, ok := a.sshKeyByName(name)
	if !ok {
		return errors.New("not in the desired state")
	}
	for _, step := range ch.Steps {
		switch step {
		case StepDelete:
			a.progressf("%s: Destroying... [id=%d]", ch.Addr, ch.ID)
			if err := c.DeleteSSHKey(ctx, ch.ID); err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete: %w", err)
			}
		case StepCreate:
			a.progressf("%s: Creating...", ch.Addr)
			k, err := c.CreateSSHKey(ctx, SSHKeyCreate{Name: dk.Name, PublicKey: dk.PublicKey, Labels: dk.Labels})
			if IsUniquenessError(err) {
				k, err = a.adoptSSHKey(ctx, dk)
			}
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			a.setKeyID(name, k.ID)
		case StepUpdate, StepAdopt:
			labels := dk.Labels
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), dk.Labels)
			}
			if err := c.UpdateSSHKey(ctx, ch.ID, dk.Name, labels); err != nil {
				return fmt.Errorf("update: %w", err)
			}
			a.setKeyID(name, ch.ID)
		}
	}
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// adoptSSHKey resolves a 409 uniqueness_error on create: the key exists,
// most likely created by an apply that was killed before it saw the answer.
// It is taken over only when it carries the fleet's label.
func (a *applier) adoptSSHKey(ctx context.Context, dk DesiredSSHKey) (SSHKey, error) {
	k, err := a.opts.Cloud.FindSSHKey(ctx, dk.Name)
	if err != nil {
		return SSHKey{}, err
	}
	if k == nil {
		return SSHKey{}, fmt.Errorf("Hetzner reports the key exists (uniqueness_error), but no key is named %q: "+
			"another key with the same public key exists under another name", dk.Name)
	}
	if k.Labels[spec.LabelFleet] != a.opts.Desired.Fleet {
		return SSHKey{}, fmt.Errorf("an SSH key named %q exists without the label %s=%s (created since the plan): rerun plan", dk.Name, spec.LabelFleet, a.opts.Desired.Fleet)
	}
	if !maps.Equal(k.Labels, dk.Labels) {
		if err := a.opts.Cloud.UpdateSSHKey(ctx, k.ID, dk.Name, dk.Labels); err != nil {
			return SSHKey{}, err
		}
	}
	return *k, nil
}

func (a *applier) setKeyID(name string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keyIDs[name] = id
}

func (a *applier) applyFirewall(ctx context.Context, ch Change) error {
	c := a.opts.Cloud
	name := ch.Addr.Name()
	if ch.Action == Delete {
		a.progressf("%s: Destroying... [id=%d]", ch.Addr, ch.ID)
		detached, err := a.deleteFirewall(ctx, Firewall{ID: ch.ID, Name: name, ApplyTo: stringSlice(ch.Before["apply_to"])})
		if err != nil {
			return err
		}
		a.record(ch.Addr, destroyedVerb(detached))
		return nil
	}
	df, ok := a.firewallByName(name)
	if !ok {
		return errors.New("not in the desired state")
	}
	id := ch.ID
	// A step's actions are waited for before the next step; the last
	// step's are waited for at the end of the apply: nothing else depends
	// on a firewall's rules reaching the servers, so the manager need not
	// wait for them.
	var pending []CloudAction
	for _, step := range ch.Steps {
		if err := a.wait(ctx, pending...); err != nil {
			return err
		}
		pending = nil
		switch step {
		case StepCreate:
			a.progressf("%s: Creating...", ch.Addr)
			fw, acts, err := c.CreateFirewall(ctx, FirewallCreate{Name: df.Name, Labels: df.Labels, Rules: df.Rules, ApplyTo: df.ApplyTo})
			if IsUniquenessError(err) {
				fw, acts, err = a.adoptFirewall(ctx, df)
			}
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			pending = acts
			id = fw.ID
		case StepUpdate, StepAdopt:
			labels := df.Labels
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), df.Labels)
			}
			if err := c.UpdateFirewall(ctx, id, labels); err != nil {
				return fmt.Errorf("update labels: %w", err)
			}
		case StepSetRules:
			a.progressf("%s: Setting %d rules...", ch.Addr, len(df.Rules))
			acts, err := c.SetFirewallRules(ctx, id, df.Rules)
			if err != nil {
				return fmt.Errorf("set rules: %w", err)
			}
			pending = acts
		case StepApplyToResources:
			add, _ := setDiff(stringSlice(ch.Before["apply_to"]), stringSlice(ch.After["apply_to"]))
			acts, err := c.ApplyFirewall(ctx, id, add)
			if err != nil {
				return fmt.Errorf("apply to %s: %w", strings.Join(add, ", "), err)
			}
			pending = acts
		case StepRemoveResources:
			_, remove := setDiff(stringSlice(ch.Before["apply_to"]), stringSlice(ch.After["apply_to"]))
			acts, err := c.RemoveFirewall(ctx, id, remove)
			if err != nil && !hcloudIsNotApplied(err) {
				return fmt.Errorf("remove from %s: %w", strings.Join(remove, ", "), err)
			}
			pending = acts
		}
	}
	a.waitLater(ch.Addr, pending)
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// adoptFirewall resolves a 409 uniqueness_error on create like
// adoptSSHKey, then sets the rules and selectors fleet.yaml asks for: the
// killed apply's create may have been the one before the spec changed.
func (a *applier) adoptFirewall(ctx context.Context, df DesiredFirewall) (Firewall, []CloudAction, error) {
	c := a.opts.Cloud
	fw, err := c.FindFirewall(ctx, df.Name)
	if err != nil {
		return Firewall{}, nil, err
	}
	if fw == nil || fw.Labels[spec.LabelFleet] != a.opts.Desired.Fleet {
		return Firewall{}, nil, fmt.Errorf("a firewall named %q exists without the label %s=%s (created since the plan): rerun plan", df.Name, spec.LabelFleet, a.opts.Desired.Fleet)
	}
	if !maps.Equal(fw.Labels, df.Labels) {
		if err := c.UpdateFirewall(ctx, fw.ID, df.Labels); err != nil {
			return Firewall{}, nil, err
		}
	}
	acts, err := c.SetFirewallRules(ctx, fw.ID, df.Rules)
	if err != nil {
		return Firewall{}, nil, err
	}
	if add, _ := setDiff(fw.ApplyTo, df.ApplyTo); len(add) > 0 {
		more, err := c.ApplyFirewall(ctx, fw.ID, add)
		if err != nil {
			return Firewall{}, nil, err
		}
		acts = append(acts, more...)
	}
	return *fw, acts, nil
}

func (a *applier) applyServer(ctx context.Context, ch Change) error {
	c := a.opts.Cloud
	m := a.opts.Desired.Manager
	if ch.Action == Delete {
		a.progressf("%s: Destroying... [id=%d]", ch.Addr, ch.ID)
		if err := a.deleteServer(ctx, ch.ID, ch.Steps); err != nil {
			return err
		}
		a.record(ch.Addr, "destroyed")
		return nil
	}
	srv := &Server{ID: ch.ID, Name: m.Name, IPv4: str(ch.Before["ipv4"]), Labels: map[string]string{LabelSSHHostKey: str(ch.Before["ssh_host_key"])}}
	for i, step := range ch.Steps {
		last := i == len(ch.Steps)-1
		var err error
		switch step {
		case StepDisableProtection:
			var act CloudAction
			if act, err = c.ChangeServerProtection(ctx, srv.ID, Protection{}); err == nil {
				err = a.wait(ctx, act)
			}
			err = wrapErr("disable protection", err)
		case StepDelete:
			a.progressf("%s: Destroying... [id=%d]", ch.Addr, srv.ID)
			var act CloudAction
			if act, err = c.DeleteServer(ctx, srv.ID); err == nil {
				err = a.wait(ctx, act)
			}
			if IsNotFound(err) {
				err = nil
			}
			err = wrapErr("delete", err)
		case StepCreate:
			a.progressf("%s: Creating...", ch.Addr)
			srv, err = a.createServer(ctx, m)
			err = wrapErr("create", err)
		case StepUpdate, StepAdopt:
			labels := maps.Clone(m.Labels)
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), m.Labels)
			}
			if hk := srv.Labels[LabelSSHHostKey]; hk != "" {
				labels[LabelSSHHostKey] = hk
			}
			err = wrapErr("update name and labels", c.UpdateServer(ctx, srv.ID, m.Name, labels))
		case StepChangeProtection:
			var act CloudAction
			if act, err = c.ChangeServerProtection(ctx, srv.ID, Protection{Delete: m.Protection, Rebuild: m.Protection}); err == nil {
				if last {
					// Protection is no step's prerequisite: the files
					// are written while Hetzner applies it.
					a.waitLater(ch.Addr, []CloudAction{act})
				} else {
					err = a.wait(ctx, act)
				}
			}
			err = wrapErr("change protection", err)
		case StepChangeType:
			err = wrapErr("change type", a.changeServerType(ctx, ch.Addr, srv.ID, m.ServerType))
		case StepPoweron:
			var act CloudAction
			if act, err = c.ServerPower(ctx, srv.ID, PowerOn); err == nil {
				err = a.wait(ctx, act)
			}
			err = wrapErr("power on", err)
		}
		if err != nil {
			return err
		}
	}
	if slices.Contains(ch.Steps, StepChangeType) || slices.Contains(ch.Steps, StepPoweron) {
		// A powered-off server's primary IP may have been unassigned and
		// another assigned since: reach it where it runs now.
		cur, err := c.GetServer(ctx, srv.ID)
		if err != nil {
			return wrapErr("read after power on", err)
		}
		if cur != nil && cur.IPv4 != "" {
			srv.IPv4 = cur.IPv4
		}
	}
	a.mu.Lock()
	a.manager = srv
	a.mu.Unlock()
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// createServer creates the manager with a freshly generated SSH host key
// whose fingerprint becomes a label. A 409 uniqueness_error means an earlier
// apply created it and was killed: it is taken over when it carries the
// fleet's labels (and with them the fingerprint of the host key that
// earlier apply generated).
func (a *applier) createServer(ctx context.Context, m DesiredServer) (*Server, error) {
	c := a.opts.Cloud
	var keyIDs []int64
	a.mu.Lock()
	for _, name := range m.SSHKeys {
		id, ok := a.keyIDs[name]
		if !ok {
			a.mu.Unlock()
			return nil, fmt.Errorf("ssh key %s has no ID", name)
		}
		keyIDs = append(keyIDs, id)
	}
	a.mu.Unlock()
	if a.opts.Desired.userData == nil {
		return nil, errors.New("no cloud-init for the manager")
	}
	userData, hostKey, err := a.opts.Desired.userData()
	if err != nil {
		return nil, err
	}
	labels := maps.Clone(m.Labels)
	labels[LabelSSHHostKey] = hostKey
	srv, acts, err := c.CreateServer(ctx, ServerCreate{
		Name: m.Name, ServerType: m.ServerType, Image: m.Image, Location: m.Location,
		SSHKeys: keyIDs, UserData: string(userData), Labels: labels,
	})
	if IsUniquenessError(err) {
		found, ferr := c.FindServer(ctx, m.Name)
		if ferr != nil {
			return nil, ferr
		}
		if found == nil || found.Labels[spec.LabelFleet] != a.opts.Desired.Fleet || found.Labels[spec.LabelRole] != RoleManager {
			return nil, fmt.Errorf("a server named %q exists without the label %s=%s (created since the plan): rerun plan", m.Name, spec.LabelFleet, a.opts.Desired.Fleet)
		}
		a.progressf("hcloud_server.%s: found the server an earlier apply created [id=%d]", m.Name, found.ID)
		return found, nil
	}
	if err != nil {
		return nil, err
	}
	if err := a.wait(ctx, acts...); err != nil {
		return &srv, err
	}
	return &srv, nil
}

// changeServerType does what Hetzner requires: shut down (gracefully, then
// hard after ShutdownTimeout), change_type keeping the disk, power on.
func (a *applier) changeServerType(ctx context.Context, addr Addr, id int64, serverType string) error {
	c := a.opts.Cloud
	a.progressf("%s: Shutting down to change the server type...", addr)
	cur, err := c.GetServer(ctx, id)
	if err != nil {
		return err
	}
	if cur.Status != "off" {
		act, err := c.ServerPower(ctx, id, PowerShutdown)
		if err == nil {
			err = a.wait(ctx, act)
		}
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		deadline := time.Now().Add(a.opts.ShutdownTimeout)
		for {
			cur, err = c.GetServer(ctx, id)
			if err != nil {
				return err
			}
			if cur.Status == "off" {
				break
			}
			if time.Now().After(deadline) {
				a.progressf("%s: still %s after %s: powering off", addr, cur.Status, a.opts.ShutdownTimeout)
				act, err := c.ServerPower(ctx, id, PowerOff)
				if err == nil {
					err = a.wait(ctx, act)
				}
				if err != nil {
					return fmt.Errorf("power off: %w", err)
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(a.opts.ServerPoll):
			}
		}
	}
	act, err := c.ChangeServerType(ctx, id, serverType)
	if err == nil {
		err = a.wait(ctx, act)
	}
	if err != nil {
		return err
	}
	act, err = c.ServerPower(ctx, id, PowerOn)
	if err == nil {
		err = a.wait(ctx, act)
	}
	return wrapErr("power on", err)
}

func (a *applier) deleteServer(ctx context.Context, id int64, steps []Step) error {
	c := a.opts.Cloud
	for _, step := range steps {
		switch step {
		case StepDisableProtection:
			act, err := c.ChangeServerProtection(ctx, id, Protection{})
			if err == nil {
				err = a.wait(ctx, act)
			}
			if err != nil && !IsNotFound(err) {
				return fmt.Errorf("disable protection: %w", err)
			}
		case StepDelete:
			act, err := c.DeleteServer(ctx, id)
			if err == nil {
				err = a.wait(ctx, act)
			}
			if err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete: %w", err)
			}
		}
	}
	return nil
}

// applyFiles writes the manager's changed files in plan order (binary and
// fleet.yaml copy before config.toml), then restarts gitlab-runner once if
// any change asks for it.
func (a *applier) applyFiles(ctx context.Context, changes []Change) error {
	srv := a.manager
	if srv == nil {
		if ch := a.plan.Change(NewAddr(KindServer, a.opts.Desired.Manager.Name)); ch != nil && ch.Before != nil {
			srv = &Server{ID: ch.ID, Name: a.opts.Desired.Manager.Name, IPv4: str(ch.Before["ipv4"]),
				Labels: map[string]string{LabelSSHHostKey: str(ch.Before["ssh_host_key"])}}
		}
	}
	if srv == nil || srv.IPv4 == "" || srv.Labels[LabelSSHHostKey] == "" {
		return errors.New("the manager's files: the manager's address or host key is unknown")
	}
	ep := ManagerEndpoint(a.opts.Desired.Manager, *srv)
	a.progressf("Connecting to %s (%s) over SSH...", srv.Name, ep.Addr)
	readyCtx, cancel := context.WithTimeout(ctx, a.opts.ReadyTimeout)
	defer cancel()
	files, err := a.opts.Connector.Connect(readyCtx, ep, true)
	if mismatch := hostKeyMismatch(*srv, ep, err); mismatch != nil {
		return mismatch
	}
	if err != nil {
		return fmt.Errorf("ssh %s: %w", srv.Name, err)
	}
	defer files.Close()
	a.progressf("Waiting for cloud-init on %s...", srv.Name)
	if _, _, err := files.Run(readyCtx, "cloud-init status --wait >/dev/null 2>&1; s=$?; [ $s -eq 0 ] || [ $s -eq 2 ] || { echo \"cloud-init failed (status $s)\" >&2; exit $s; }"); err != nil {
		return fmt.Errorf("%s: cloud-init: %w", srv.Name, err)
	}
	restart := false
	for _, ch := range changes {
		restart = restart || slices.Contains(ch.Steps, StepRestartRunner)
	}
	if restart {
		// Recorded first, so that a restart an interrupted apply owed is
		// planned by the next one.
		if err := files.WriteFile(ctx, RestartMarker, []byte("pending\n"), 0o600); err != nil {
			return fmt.Errorf("%s: %w", AddrRestart, err)
		}
	}
	for _, ch := range sortedFileChanges(changes) {
		if ch.Addr.Kind() != KindFile {
			continue
		}
		df, ok := a.desiredFile(ch.Addr)
		if !ok {
			return fmt.Errorf("%s: not in the desired state", ch.Addr)
		}
		if ch.Action == NoOp {
			// Only a digest record to repair, while connected anyway;
			// a failure costs later plans time, not correctness.
			a.progressf("%s: Recording the digest of %s in %s...", ch.Addr, df.Path, df.DigestRecord)
			if err := recordDigest(ctx, files, df); err != nil {
				a.progressf("%s: %v", ch.Addr, err)
			}
			continue
		}
		if err := a.applyFileSteps(ctx, files, df, ch); err != nil {
			return fmt.Errorf("%s: %w", ch.Addr, err)
		}
	}
	if restart {
		a.progressf("Restarting gitlab-runner on %s (plugin settings changed)...", srv.Name)
		if _, _, err := files.Run(ctx, "systemctl restart gitlab-runner"); err != nil {
			return fmt.Errorf("restart gitlab-runner: %w", err)
		}
		if err := files.WriteFile(ctx, RestartMarker, []byte("done\n"), 0o600); err != nil {
			return fmt.Errorf("%s: %w", AddrRestart, err)
		}
		a.record(AddrRestart, "restarted")
	}
	return nil
}

// writeFile writes a desired file without a digest record.
func writeFile(ctx context.Context, files Files, f DesiredFile) error {
	data, err := f.readContent()
	if err != nil {
		return err
	}
	return files.WriteFile(ctx, f.Path, data, f.Mode)
}

// digestRepairs are the unchanged files whose digest record the plan found
// missing or stale.
func (a *applier) digestRepairs() []Change {
	var out []Change
	for _, ch := range a.plan.Changes {
		if ch.Action == NoOp && slices.Contains(ch.Steps, StepRecordDigest) {
			out = append(out, ch)
		}
	}
	return out
}

func sortedFileChanges(changes []Change) []Change {
	out := append([]Change(nil), changes...)
	sort.SliceStable(out, func(i, j int) bool { return addrLess(out[i].Addr, out[j].Addr) })
	return out
}

func (a *applier) desiredFile(addr Addr) (DesiredFile, bool) {
	for _, f := range a.opts.Desired.Files {
		if f.Addr == addr {
			return f, true
		}
	}
	return DesiredFile{}, false
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

func mergeLabels(base, over map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]string:
		maps.Copy(out, t)
	case map[string]any:
		for k, vv := range t {
			out[k] = fmt.Sprint(vv)
		}
	}
	return out
}

func stringSlice(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// hcloudIsNotApplied reports Hetzner's firewall_resource_not_found: the
// selector was not applied (anymore), which is what a removal wants.
func hcloudIsNotApplied(err error) bool {
	return IsNotApplied(err)
}

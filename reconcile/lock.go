package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/internal/crash"
	"github.com/fleetctl/fleetctl/spec"
)

// The apply lock. fleetctl keeps no state, not even for its lock: the one
// compare-and-swap Hetzner offers is the creation of a uniquely named
// resource (names are unique per project and kind; the loser gets 409
// uniqueness_error). The lock is a placement group named LockName(fleet):
// free of charge, labelled, holding no server. Its labels record who holds
// it, from where, since when and until when; the holder renews the expiry
// while it holds the lock and deletes the group when it is done. A lock
// whose expiry passed is taken over: deleted by its ID (so that of two
// takers only one deletes it, and never the new lock of the other) and
// created anew. Expiry compares the clocks of two machines: keep them in
// NTP sync, as CI runners and laptops are.

// Lock labels. Values follow Hetzner's label value rules (see labelValue).
const (
	LabelLockID        = "fleetctl.io/lock-id"
	LabelLockHolder    = "fleetctl.io/lock-holder"
	LabelLockHost      = "fleetctl.io/lock-host"
	LabelLockPID       = "fleetctl.io/lock-pid"
	LabelLockJob       = "fleetctl.io/lock-job"
	LabelLockOperation = "fleetctl.io/lock-operation"
	LabelLockSince     = "fleetctl.io/lock-since"
	LabelLockExpires   = "fleetctl.io/lock-expires"
	// RoleLock is the fleetctl.io/role of the lock's placement group.
	RoleLock = "lock"
)

// lockTimeFormat is a time as a label value allows it: no colons.
const lockTimeFormat = "20060102T150405Z"

// Lock defaults.
const (
	DefaultLockTTL  = 2 * time.Minute
	defaultLockPoll = 2 * time.Second
)

// LockName is the name of the fleet's lock placement group.
func LockName(fleet string) string { return "fleetctl-lock-" + fleet }

// LockHolder is who holds a lock, as its labels record it.
type LockHolder struct {
	// Holder is the user: GITLAB_USER_LOGIN in a pipeline, else the
	// login name; Job is CI_JOB_ID when set.
	Holder    string
	Host      string
	PID       int
	Job       string
	Operation string
	Since     time.Time
	Expires   time.Time
}

// String names the holder as errors and events show it:
// "alice on laptop (pid 42, apply) since 2026-12-04 18:20:40 UTC".
func (h LockHolder) String() string {
	who := h.Holder + " on " + h.Host
	var details []string
	if h.PID != 0 {
		details = append(details, "pid "+strconv.Itoa(h.PID))
	}
	if h.Job != "" {
		details = append(details, "CI job "+h.Job)
	}
	if h.Operation != "" {
		details = append(details, h.Operation)
	}
	if len(details) > 0 {
		who += " (" + strings.Join(details, ", ") + ")"
	}
	if !h.Since.IsZero() {
		who += " since " + h.Since.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return who
}

// LockOptions tune AcquireLock.
type LockOptions struct {
	// Operation is what the lock is held for: apply or destroy.
	Operation string
	// Timeout is how long to wait for a lock held by another
	// (--lock-timeout); 0 refuses at once.
	Timeout time.Duration
	// TTL is how long the lock stays valid without renewal; it is
	// renewed every third of it. Zero means DefaultLockTTL.
	TTL time.Duration
	// Poll is how often a held lock is looked at again while waiting;
	// zero means 2 s.
	Poll time.Duration
	// Holder overrides who is recorded (tests); zero means this process.
	Holder LockHolder
}

// LockState is what happened to a lock, in a LockEvent.
type LockState string

// The lock states. Their names are part of the JSON event stream.
const (
	LockAcquired LockState = "acquired"
	LockWaiting  LockState = "waiting"
	LockTakeOver LockState = "take_over"
	LockReleased LockState = "released"
	LockLost     LockState = "lost"
)

// LockEvent reports the apply lock taken, waited for, taken over from an
// expired holder, released or lost.
type LockEvent struct {
	State LockState
	Name  string
	// Holder is this process (acquired, released, lost) or the other
	// holder (waiting, take_over).
	Holder LockHolder
	// Timeout is how long a waiting lock is waited for.
	Timeout time.Duration
}

// String is the event's line in the human view.
func (e LockEvent) String() string {
	switch e.State {
	case LockAcquired:
		return fmt.Sprintf("Lock %s: acquired, valid until %s and renewed while held", e.Name, e.Holder.Expires.UTC().Format("15:04:05 UTC"))
	case LockWaiting:
		return fmt.Sprintf("Lock %s: held by %s; waiting up to %s...", e.Name, e.Holder, e.Timeout)
	case LockTakeOver:
		return fmt.Sprintf("Lock %s: taking over from %s, expired at %s", e.Name, e.Holder, e.Holder.Expires.UTC().Format("2006-01-02 15:04:05 UTC"))
	case LockReleased:
		return fmt.Sprintf("Lock %s: released", e.Name)
	case LockLost:
		return fmt.Sprintf("Lock %s: lost: another process took it over or unlocked it", e.Name)
	}
	return fmt.Sprintf("Lock %s: %s", e.Name, e.State)
}

// LockedError is the refusal of a lock another holds.
type LockedError struct {
	Fleet  string
	Holder LockHolder
	// Waited is how long it was waited for (--lock-timeout).
	Waited time.Duration
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("fleet %s is locked by %s, until %s unless renewed", e.Fleet, e.Holder, e.Holder.Expires.UTC().Format("15:04:05 UTC"))
	if e.Waited > 0 {
		msg += fmt.Sprintf("; still locked after waiting %s", e.Waited)
	} else {
		msg += "; wait for it with --lock-timeout 5m"
	}
	return msg + "; if that process is gone, the lock is taken over once it expires, or break it now with: fleetctl unlock -f FLEET.YAML --confirm " + e.Fleet
}

// ErrLockLost is the cause of a held lock's context when the lock was taken
// from its holder.
var ErrLockLost = errors.New("the apply lock was lost: another process took it over or ran fleetctl unlock; stopped")

// Lock is a held apply lock.
type Lock struct {
	cloud  Cloud
	fleet  string
	id     int64
	labels map[string]string
	ttl    time.Duration
	holder LockHolder
	hooks  Hooks

	held    context.Context
	stop    context.CancelFunc
	done    chan struct{}
	cancel  context.CancelCauseFunc
	release sync.Once
}

// AcquireLock takes the fleet's apply lock. It returns the lock and a
// context derived from ctx that is cancelled, with cause ErrLockLost, if
// the lock is taken from it. A lock held by another is refused with a
// *LockedError, at once or after waiting opts.Timeout.
func AcquireLock(ctx context.Context, c Cloud, fleet string, opts LockOptions, hooks Hooks) (*Lock, context.Context, error) {
	if hooks == nil {
		hooks = NoHooks{}
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultLockTTL
	}
	if opts.Poll <= 0 {
		opts.Poll = defaultLockPoll
	}
	me := opts.Holder
	if me.Holder == "" {
		me = thisProcess()
	}
	me.Operation = opts.Operation
	nonce := make([]byte, 8)
	rand.Read(nonce)
	id := hex.EncodeToString(nonce)
	name := LockName(fleet)
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	waited := false
	for {
		me.Since = time.Now().UTC().Truncate(time.Second)
		me.Expires = me.Since.Add(opts.TTL)
		labels := lockLabels(fleet, id, me)
		pg, err := c.CreatePlacementGroup(ctx, name, labels)
		if err == nil {
			return startLock(ctx, c, fleet, pg.ID, labels, opts.TTL, me, hooks)
		}
		if !IsUniquenessError(err) {
			return nil, nil, fmt.Errorf("lock %s: create placement group: %w", name, err)
		}
		held, err := c.FindPlacementGroup(ctx, name)
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if held == nil {
			continue // released meanwhile
		}
		if held.Labels[LabelLockID] == id {
			// Our own create, retried after its answer was lost.
			return startLock(ctx, c, fleet, held.ID, labels, opts.TTL, me, hooks)
		}
		other, ok := parseLockLabels(held.Labels)
		if !ok || held.Labels[spec.LabelFleet] != fleet {
			return nil, nil, fmt.Errorf("lock %s: a placement group of that name exists without fleetctl's lock labels for fleet %s: fleetctl uses the name for its apply lock; rename or delete it", name, fleet)
		}
		if time.Now().After(other.Expires) {
			hooks.Lock(LockEvent{State: LockTakeOver, Name: name, Holder: other})
			if err := c.DeletePlacementGroup(ctx, held.ID); err != nil && !IsNotFound(err) {
				return nil, nil, fmt.Errorf("lock %s: take over from %s: delete: %w", name, other, err)
			}
			continue
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, nil, &LockedError{Fleet: fleet, Holder: other, Waited: opts.Timeout}
		}
		if !waited {
			waited = true
			hooks.Lock(LockEvent{State: LockWaiting, Name: name, Holder: other, Timeout: opts.Timeout})
		}
		wait := min(opts.Poll, deadline.Sub(now), time.Until(other.Expires)+time.Second)
		select {
		case <-ctx.Done():
			return nil, nil, context.Cause(ctx)
		case <-time.After(wait):
		}
	}
}

func startLock(ctx context.Context, c Cloud, fleet string, id int64, labels map[string]string, ttl time.Duration, me LockHolder, hooks Hooks) (*Lock, context.Context, error) {
	held, cancel := context.WithCancelCause(ctx)
	renewCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lock{cloud: c, fleet: fleet, id: id, labels: labels, ttl: ttl, holder: me, hooks: hooks,
		held: held, stop: stop, done: make(chan struct{}), cancel: cancel}
	hooks.Lock(LockEvent{State: LockAcquired, Name: LockName(fleet), Holder: me})
	go func() {
		// A bug in the renewal stops the work under the lock, as an
		// error, instead of killing the process.
		var err error
		defer func() {
			if err != nil {
				l.cancel(err)
			}
		}()
		defer crash.Recover(&err)
		l.renew(renewCtx)
	}()
	return l, held, nil
}

// renew pushes the expiry forward every third of the TTL. A lock found
// gone or taken over is lost: the held context is cancelled. A renewal
// that fails otherwise is tried again until the lock expires.
func (l *Lock) renew(ctx context.Context) {
	defer close(l.done)
	every := l.ttl / 3
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		pg, err := l.cloud.GetPlacementGroup(ctx, l.id)
		if ctx.Err() != nil {
			return
		}
		if err == nil && (pg == nil || pg.Labels[LabelLockID] != l.labels[LabelLockID]) {
			l.lost()
			return
		}
		if err == nil {
			expires := time.Now().UTC().Truncate(time.Second).Add(l.ttl)
			labels := maps.Clone(l.labels)
			labels[LabelLockExpires] = expires.Format(lockTimeFormat)
			err = l.cloud.UpdatePlacementGroup(ctx, l.id, labels)
			if err == nil {
				l.labels, l.holder.Expires = labels, expires
				continue
			}
			if IsNotFound(err) {
				l.lost()
				return
			}
		}
		if ctx.Err() == nil && time.Now().After(l.holder.Expires) {
			l.lost()
			return
		}
	}
}

func (l *Lock) lost() {
	l.hooks.Lock(LockEvent{State: LockLost, Name: LockName(l.fleet), Holder: l.holder})
	l.cancel(ErrLockLost)
}

// Release stops renewing and deletes the lock. It works also when the
// command's context is cancelled (an interrupted apply releases its lock),
// and only once.
func (l *Lock) Release(ctx context.Context) error {
	var err error
	l.release.Do(func() {
		l.stop()
		<-l.done
		defer l.cancel(context.Canceled)
		if context.Cause(l.held) == ErrLockLost {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if e := l.cloud.DeletePlacementGroup(ctx, l.id); e != nil && !IsNotFound(e) {
			err = fmt.Errorf("lock %s: release: %w (it expires by itself at %s)", LockName(l.fleet), e, l.holder.Expires.UTC().Format("15:04:05 UTC"))
			return
		}
		l.hooks.Lock(LockEvent{State: LockReleased, Name: LockName(l.fleet), Holder: l.holder})
	})
	return err
}

// FindLock returns the fleet's lock and who holds it, or nil when the
// fleet is not locked.
func FindLock(ctx context.Context, c Cloud, fleet string) (*PlacementGroup, *LockHolder, error) {
	pg, err := c.FindPlacementGroup(ctx, LockName(fleet))
	if err != nil || pg == nil {
		return nil, nil, err
	}
	h, ok := parseLockLabels(pg.Labels)
	if !ok || pg.Labels[spec.LabelFleet] != fleet {
		return nil, nil, fmt.Errorf("placement group %s (id %d) is not a fleetctl lock of fleet %s: it lacks the lock labels; fleetctl leaves it alone", pg.Name, pg.ID, fleet)
	}
	return pg, &h, nil
}

// BreakLock deletes the fleet's lock whoever holds it (fleetctl unlock)
// and returns who held it, or nil when the fleet was not locked. A holder
// still running notices at its next renewal and stops.
func BreakLock(ctx context.Context, c Cloud, fleet string) (*LockHolder, error) {
	pg, h, err := FindLock(ctx, c, fleet)
	if err != nil || pg == nil {
		return nil, err
	}
	if err := c.DeletePlacementGroup(ctx, pg.ID); err != nil && !IsNotFound(err) {
		return nil, fmt.Errorf("lock %s: delete: %w", pg.Name, err)
	}
	return h, nil
}

// thisProcess is who this process is, for the lock's labels.
func thisProcess() LockHolder {
	h := LockHolder{PID: os.Getpid(), Job: os.Getenv("CI_JOB_ID")}
	h.Holder = os.Getenv("GITLAB_USER_LOGIN")
	if h.Holder == "" {
		if u, err := user.Current(); err == nil {
			h.Holder = u.Username
		}
	}
	if h.Holder == "" {
		h.Holder = os.Getenv("USER")
	}
	h.Host, _ = os.Hostname()
	return h
}

func lockLabels(fleet, id string, h LockHolder) map[string]string {
	l := map[string]string{
		spec.LabelFleet:    fleet,
		spec.LabelRole:     RoleLock,
		LabelLockID:        id,
		LabelLockHolder:    labelValue(h.Holder),
		LabelLockHost:      labelValue(h.Host),
		LabelLockPID:       strconv.Itoa(h.PID),
		LabelLockOperation: labelValue(h.Operation),
		LabelLockSince:     h.Since.UTC().Format(lockTimeFormat),
		LabelLockExpires:   h.Expires.UTC().Format(lockTimeFormat),
	}
	if h.Job != "" {
		l[LabelLockJob] = labelValue(h.Job)
	}
	return l
}

func parseLockLabels(l map[string]string) (LockHolder, bool) {
	since, err1 := time.Parse(lockTimeFormat, l[LabelLockSince])
	expires, err2 := time.Parse(lockTimeFormat, l[LabelLockExpires])
	if err1 != nil || err2 != nil || l[LabelLockID] == "" {
		return LockHolder{}, false
	}
	pid, _ := strconv.Atoi(l[LabelLockPID])
	return LockHolder{Holder: l[LabelLockHolder], Host: l[LabelLockHost], PID: pid, Job: l[LabelLockJob],
		Operation: l[LabelLockOperation], Since: since, Expires: expires}, true
}

// labelValue makes s a valid Hetzner label value: at most 63 characters
// of [a-zA-Z0-9._-], starting and ending with a letter or digit. Other
// characters become "_"; nothing left becomes "unknown".
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for len(b) > 0 && !alnum(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && !alnum(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

// lockEvents records the lock events of the hooks it is, and signals each.
type lockEvents struct {
	reconcile.NoHooks
	mu     sync.Mutex
	events []reconcile.LockEvent
	seen   chan reconcile.LockEvent
}

func newLockEvents() *lockEvents { return &lockEvents{seen: make(chan reconcile.LockEvent, 100)} }

func (h *lockEvents) Lock(e reconcile.LockEvent) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
	h.seen <- e
}

// await waits for the event of state, failing after a bound no working
// machine reaches.
func (h *lockEvents) await(t *testing.T, state reconcile.LockState) reconcile.LockEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-h.seen:
			if e.State == state {
				return e
			}
		case <-timeout:
			t.Fatalf("no lock event %s", state)
		}
	}
}

func lockCloud(t *testing.T) (reconcile.Cloud, *env) {
	e := newBareEnv(t, hcloudsim.Options{})
	c := reconcile.NewHetznerCloud(reconcile.HetznerOptions{Token: secretHCloudToken, Endpoint: e.url, PollInterval: 10 * time.Millisecond,
		Retry: reconcile.RetryPolicy{Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	return c, e
}

var (
	alice = reconcile.LockHolder{Holder: "alice", Host: "laptop", PID: 42}
	bob   = reconcile.LockHolder{Holder: "bob", Host: "ci-runner-7", PID: 7, Job: "1234"}
)

func TestLockRefusedWhileHeldThenFree(t *testing.T) {
	t.Parallel()
	c, _ := lockCloud(t)
	ctx := context.Background()
	a, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Operation: "apply", Holder: alice}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Operation: "apply", Holder: bob}, nil)
	var locked *reconcile.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second acquire: %v, want a LockedError", err)
	}
	for _, want := range []string{"fleet lk is locked by alice on laptop (pid 42, apply) since ", "--lock-timeout", "fleetctl unlock -f FLEET.YAML --confirm lk"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Operation: "destroy", Holder: bob}, nil)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	_, h, err := reconcile.FindLock(ctx, c, "lk")
	if err != nil || h == nil || h.Holder != "bob" || h.Job != "1234" || h.Operation != "destroy" {
		t.Fatalf("lock recorded as %+v, %v; want bob's destroy in CI job 1234", h, err)
	}
	b.Release(ctx)
	if pg, _, err := reconcile.FindLock(ctx, c, "lk"); pg != nil || err != nil {
		t.Fatalf("after release the lock is still there: %+v, %v", pg, err)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	t.Parallel()
	c, _ := lockCloud(t)
	ctx := context.Background()
	a, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: alice}, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := newLockEvents()
	got := make(chan error, 1)
	go func() {
		b, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: bob, Timeout: time.Minute, Poll: 20 * time.Millisecond}, events)
		if err == nil {
			b.Release(ctx)
		}
		got <- err
	}()
	w := events.await(t, reconcile.LockWaiting)
	if w.Holder.Holder != "alice" || !strings.Contains(w.String(), "held by alice on laptop") {
		t.Errorf("waiting event names %q", w)
	}
	a.Release(ctx)
	if err := <-got; err != nil {
		t.Fatalf("waiting acquire: %v", err)
	}
}

// A holder that died leaves its lock; it is taken over once expired, and
// not before.
func TestLockTakenOverAfterExpiry(t *testing.T) {
	t.Parallel()
	c, e := lockCloud(t)
	ctx := context.Background()
	// The lock of a killed apply, valid for two more seconds.
	expires := time.Now().UTC().Add(2 * time.Second)
	_, _, err := e.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: reconcile.LockName("lk"), Type: hcloud.PlacementGroupTypeSpread,
		Labels: map[string]string{spec.LabelFleet: "lk", spec.LabelRole: "lock", reconcile.LabelLockID: "dead", reconcile.LabelLockHolder: "carol",
			reconcile.LabelLockHost: "gone", reconcile.LabelLockPID: "9", reconcile.LabelLockSince: time.Now().UTC().Format("20060102T150405Z"),
			reconcile.LabelLockExpires: expires.Format("20060102T150405Z")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: bob}, nil); err == nil || !strings.Contains(err.Error(), "carol on gone (pid 9)") {
		t.Fatalf("acquire of an unexpired lock: %v, want it refused naming carol", err)
	}
	events := newLockEvents()
	b, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: bob, Timeout: time.Minute, Poll: 50 * time.Millisecond}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(ctx)
	if time.Now().Before(expires.Truncate(time.Second)) {
		t.Errorf("taken over before its expiry %s", expires)
	}
	var states []string
	for _, ev := range events.events {
		states = append(states, string(ev.State))
	}
	if got := strings.Join(states, " "); got != "waiting take_over acquired" {
		t.Errorf("lock events %q, want waiting, take_over, acquired", got)
	}
	if _, h, _ := reconcile.FindLock(ctx, c, "lk"); h == nil || h.Holder != "bob" {
		t.Errorf("lock holder after take-over: %+v", h)
	}
}

// A held lock is renewed, so that a long apply keeps it; a lock broken
// under its holder stops the holder's work.
func TestLockRenewedAndLost(t *testing.T) {
	t.Parallel()
	c, _ := lockCloud(t)
	ctx := context.Background()
	events := newLockEvents()
	a, held, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: alice, TTL: 3 * time.Second}, events)
	if err != nil {
		t.Fatal(err)
	}
	_, first, _ := reconcile.FindLock(ctx, c, "lk")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, h, err := reconcile.FindLock(ctx, c, "lk")
		if err != nil {
			t.Fatal(err)
		}
		if h.Expires.After(first.Expires) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock not renewed: expires %s", h.Expires)
		}
		time.Sleep(50 * time.Millisecond) // polls the simulator for the renewal
	}
	h, err := reconcile.BreakLock(ctx, c, "lk")
	if err != nil || h == nil || h.Holder != "alice" {
		t.Fatalf("break: %+v, %v", h, err)
	}
	select {
	case <-held.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the holder's work goes on after its lock was broken")
	}
	if context.Cause(held) != reconcile.ErrLockLost {
		t.Errorf("cause %v, want ErrLockLost", context.Cause(held))
	}
	events.await(t, reconcile.LockLost)
	if err := a.Release(ctx); err != nil {
		t.Errorf("release of a lost lock: %v", err)
	}
}

// uniqueAfterCreate creates the placement group, then answers as if the
// answer was lost and the retried create found the name taken.
type uniqueAfterCreate struct{ reconcile.Cloud }

func (u uniqueAfterCreate) CreatePlacementGroup(ctx context.Context, name string, labels map[string]string) (reconcile.PlacementGroup, error) {
	if _, err := u.Cloud.CreatePlacementGroup(ctx, name, labels); err != nil {
		return reconcile.PlacementGroup{}, err
	}
	return reconcile.PlacementGroup{}, hcloud.Error{Code: hcloud.ErrorCodeUniquenessError, Message: "name is already used"}
}

func TestLockOwnRetriedCreateIsOurs(t *testing.T) {
	t.Parallel()
	c, _ := lockCloud(t)
	ctx := context.Background()
	a, _, err := reconcile.AcquireLock(ctx, uniqueAfterCreate{c}, "lk", reconcile.LockOptions{Holder: alice}, nil)
	if err != nil {
		t.Fatalf("a create whose answer was lost: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// Whatever the user and host are called, the labels are valid for Hetzner
// (the simulator checks them as Hetzner does), and never taken for another
// fleet's or a foreign placement group.
func TestLockLabelsValidAndForeignGroupsLeftAlone(t *testing.T) {
	t.Parallel()
	c, e := lockCloud(t)
	ctx := context.Background()
	odd := reconcile.LockHolder{Holder: "Jörg Müller@CORP\\jm", Host: strings.Repeat("build-host.example.internal.", 4), PID: 1}
	l, _, err := reconcile.AcquireLock(ctx, c, "lk", reconcile.LockOptions{Holder: odd}, nil)
	if err != nil {
		t.Fatalf("odd holder: %v", err)
	}
	l.Release(ctx)
	if _, _, err := e.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: reconcile.LockName("other"), Type: hcloud.PlacementGroupTypeSpread}); err != nil {
		t.Fatal(err)
	}
	_, _, err = reconcile.AcquireLock(ctx, c, "other", reconcile.LockOptions{Holder: alice}, nil)
	if err == nil || !strings.Contains(err.Error(), "without fleetctl's lock labels") {
		t.Fatalf("acquire over a foreign placement group: %v", err)
	}
	if _, err := reconcile.BreakLock(ctx, c, "other"); err == nil {
		t.Fatal("unlock deleted a placement group that is not a lock")
	}
}

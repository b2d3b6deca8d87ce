package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentAppliesOneWins: two applies started together on a fresh
// project. Exactly one changes anything; the other is refused at once,
// exit 1, naming the holder, while the winner still works. Afterwards the
// project holds each resource once, the plan is clean, no lock is left, and
// destroy removes everything, its own lock last.
func TestConcurrentAppliesOneWins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	ctx := context.Background()
	sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond})
	f := newFleet(t, sim, nil)
	// The winner's server create hangs until the loser is done: the
	// loser cannot have been refused because the winner had finished.
	if err := sim.addFault(fault{Method: "POST", Path: "/v1/servers", Latency: "3s"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	procs := make([]*process, 2)
	walls := make([]time.Duration, 2)
	for i := range procs {
		procs[i] = f.start(nil, "apply")
	}
	for i, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); _, walls[i] = p.wait() }()
	}
	wg.Wait()
	sim.clearFaults()
	var winner, loser int
	switch {
	case procs[0].cmd.ProcessState.ExitCode() == 0 && procs[1].cmd.ProcessState.ExitCode() == 1:
		winner, loser = 0, 1
	case procs[1].cmd.ProcessState.ExitCode() == 0 && procs[0].cmd.ProcessState.ExitCode() == 1:
		winner, loser = 1, 0
	default:
		t.Fatalf("want one apply to succeed and one to exit 1; got:\n%s\n---\n%s", procs[0].stderrText(), procs[1].stderrText())
	}
	w, l := procs[winner], procs[loser]
	errText := l.stderrText()
	t.Logf("the refused apply ran %s; the winner %s", walls[loser].Round(time.Millisecond), walls[winner].Round(time.Millisecond))
	for _, want := range []string{"fleet gitlab-ci is locked by ", "(pid ", "apply) since ", "--lock-timeout"} {
		if !strings.Contains(errText, want) {
			t.Errorf("the refused apply does not say %q:\n%s", want, errText)
		}
	}
	if walls[loser] >= walls[winner] {
		t.Errorf("the refused apply (%s) ended after the winner (%s): it waited for the lock", walls[loser], walls[winner])
	}
	if strings.Contains(l.stdout.String(), "created") || strings.Contains(errText, "Creating...") {
		t.Errorf("the refused apply changed something:\n%s\n%s", l.stdout.String(), errText)
	}
	if !strings.Contains(w.stdout.String(), "Apply complete! Resources: 6 added") {
		t.Errorf("the winner did not apply the fleet:\n%s", w.stdout.String())
	}
	st := sim.mustStats()
	for _, route := range []string{"POST /v1/ssh_keys", "POST /v1/firewalls", "POST /v1/servers"} {
		if st.ByRoute[route] != 1 {
			t.Errorf("%s sent %d times, want once", route, st.ByRoute[route])
		}
	}
	f.checkConverged(ctx)

	r := f.mustExit(ctx, 0, "destroy", "--confirm", fleetName)
	if !strings.Contains(r.stderr, "Lock fleetctl-lock-gitlab-ci: released") {
		t.Errorf("destroy did not release its lock:\n%s", r.stderr)
	}
	if inv, err := f.inventory(ctx); err != nil || len(inv) != 0 {
		t.Errorf("after destroy the project holds %q (%v), want nothing", inv, err)
	}
}

// TestKilledApplysLockTakenOver: a SIGKILLed apply cannot release its
// lock. The next apply waiting with --lock-timeout takes it over once it
// expired and converges.
func TestKilledApplysLockTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	ctx := context.Background()
	sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond})
	f := newFleet(t, sim, nil)
	killMidApply(t, f, "--lock-ttl", "3s")
	r := f.mustExit(ctx, 0, "apply", "--lock-timeout", "1m")
	for _, want := range []string{"held by ", "waiting up to 1m0s", "taking over from ", ", expired at "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("apply over a dead holder's lock does not say %q:\n%s", want, r.stderr)
		}
	}
	f.checkConverged(ctx)
}

// TestUnlockBreaksStaleLock: with the lock of a killed apply still valid,
// plan works (it takes no lock), apply is refused, unlock needs the fleet's
// name and breaks it, and apply then converges at once.
func TestUnlockBreaksStaleLock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	ctx := context.Background()
	sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond})
	f := newFleet(t, sim, nil)
	killMidApply(t, f)
	if r := f.fleetctl(ctx, "plan", "--detailed-exitcode"); r.code != 2 || strings.Contains(r.stdout+r.stderr, "fleetctl-lock") {
		t.Errorf("plan beside a held lock: want exit 2 and no word of the lock, got %s", r)
	}
	f.mustExit(ctx, 1, "apply")
	if r := f.mustExit(ctx, 1, "unlock", "--confirm", "other"); !strings.Contains(r.stderr, "--confirm gitlab-ci") {
		t.Errorf("unlock without the fleet's name: %s", r)
	}
	r := f.mustExit(ctx, 0, "unlock", "--confirm", fleetName)
	if !strings.Contains(r.stdout, "Lock fleetctl-lock-gitlab-ci broken: it was held by ") || !strings.Contains(r.stdout, "it had not expired") {
		t.Errorf("unlock says:\n%s", r.stdout)
	}
	if r := f.mustExit(ctx, 0, "unlock", "--confirm", fleetName); !strings.Contains(r.stdout, "Fleet gitlab-ci is not locked.") {
		t.Errorf("unlock of an unlocked fleet says:\n%s", r.stdout)
	}
	f.mustExit(ctx, 0, "apply")
	f.checkConverged(ctx)
}

// killMidApply starts apply with extra flags and SIGKILLs it while it
// creates the manager (its server create stalled), leaving its lock.
func killMidApply(t *testing.T, f *fleet, flags ...string) {
	t.Helper()
	if err := f.sim.addFault(fault{Method: "POST", Path: "/v1/servers", Latency: "2s"}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p := f.start(func(p *process, line string) {
		if strings.Contains(line, "hcloud_server.runner-manager: Creating...") {
			once.Do(p.kill)
		}
	}, append([]string{"apply"}, flags...)...)
	if killed, _ := p.wait(); !killed {
		t.Fatalf("apply was not killed mid-run:\n%s", p.stderrText())
	}
	if _, ok := p.firstLine("Lock fleetctl-lock-gitlab-ci: acquired"); !ok {
		t.Fatalf("the killed apply took no lock:\n%s", p.stderrText())
	}
	f.sim.clearFaults()
}

package e2e

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// killPoint is a moment of an apply at which the test kills it.
type killPoint struct {
	name string
	// stall, if set, delays the matching request in the simulator, so that
	// the kill lands while it is in flight: the simulator still carries it
	// out, but apply never sees the answer.
	stall *fault
	// route: kill once the simulator counted this many requests to it.
	route string
	count int
	// stderr: kill once apply printed a line containing this, after delay.
	stderr string
	delay  time.Duration
	// after: kill this long after apply started.
	after time.Duration
}

var randomKills = flag.Int("random-kills", 2, "how many more kill points TestApplyKilledConverges picks at random times")

// crashPoints span a whole apply from empty: reading the live state, the
// creates with their answers lost, the actions waited on, and every step on
// the manager over SSH.
var crashPoints = []killPoint{
	{name: "reading the live state", route: "GET /v1/ssh_keys", count: 1},
	{name: "ssh key create in flight", stall: &fault{Method: "POST", Path: "/v1/ssh_keys"}, route: "POST /v1/ssh_keys", count: 1},
	{name: "firewall create in flight", stall: &fault{Method: "POST", Path: "/v1/firewalls"}, route: "POST /v1/firewalls", count: 1},
	{name: "server create in flight", stall: &fault{Method: "POST", Path: "/v1/servers"}, route: "POST /v1/servers", count: 1},
	{name: "waiting for the first action", route: "GET /v1/actions", count: 1},
	{name: "change_protection in flight", stall: &fault{Method: "POST", Path: "/v1/servers/*/actions/change_protection"},
		route: "POST /v1/servers/{id}/actions/change_protection", count: 1},
	{name: "server create answered", route: "POST /v1/servers", count: 1},
	{name: "connecting over SSH", stderr: "Connecting to runner-manager"},
	{name: "waiting for cloud-init", stderr: "Waiting for cloud-init"},
	{name: "uploading the fleetctl binary", stderr: "/usr/local/bin/fleetctl", delay: 30 * time.Millisecond},
	{name: "writing the fleet.yaml copy", stderr: "/etc/fleetctl/fleet.yaml"},
	{name: "writing config.toml", stderr: "/etc/gitlab-runner/config.toml"},
	{name: "restarting gitlab-runner", stderr: "Restarting gitlab-runner"},
	{name: "waiting for change_protection", stderr: "Waiting for change_protection"},
}

// TestApplyKilledConverges kills a from-empty apply with SIGKILL at each of
// crashPoints, runs apply again to completion and checks that the fleet
// converged: plan clean, every resource exactly once, no orphan, the
// manager's files complete and gitlab-runner restarted after its plugin
// changed.
func TestApplyKilledConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and three fleetctl processes per kill point")
	}
	var (
		mu       sync.Mutex
		observed = map[string]string{} // kill point → what had happened when it was killed
	)
	points := slices.Clone(crashPoints)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	for i := 0; i < *randomKills; i++ {
		// A from-empty apply takes about 1.5 s here.
		after := time.Duration(rng.Int64N(int64(1500 * time.Millisecond))).Round(time.Millisecond)
		points = append(points, killPoint{name: fmt.Sprintf("at random %s", after), after: after})
	}
	t.Logf("random kill points from seed %d", seed)
	t.Run("points", func(t *testing.T) {
		for _, point := range points {
			t.Run(strings.ReplaceAll(point.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				_, seen := killAndConverge(t, point)
				mu.Lock()
				observed[point.name] = seen
				mu.Unlock()
			})
		}
	})
	// The points must really differ: the state apply had reached, as the
	// simulator and its stderr saw it, is distinct at each.
	distinct := map[string]bool{}
	names := slices.Sorted(maps.Keys(observed))
	for _, name := range names {
		seen := observed[name]
		if seen == "" {
			t.Logf("not killed %-28s apply finished first", name+":")
			continue
		}
		t.Logf("killed %-32s %s", name+":", seen)
		distinct[seen] = true
	}
	if !t.Failed() && len(distinct) < 10 {
		t.Errorf("apply was killed at %d distinct points, want at least 10", len(distinct))
	}
}

// killAndConverge runs one round on a fresh simulator: apply from empty
// killed at point, then apply to completion. It returns the fleet and what
// apply had done when it was killed.
func killAndConverge(t *testing.T, point killPoint) (*fleet, string) {
	ctx := context.Background()
	sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond})
	f := newFleet(t, sim, nil)
	seen := f.killApply(t, point)
	if r := f.fleetctl(ctx, "apply"); r.code != 0 {
		t.Fatalf("apply after the kill (%s) failed: %s", seen, r)
	}
	f.checkConverged(ctx)
	return f, seen
}

// killApply runs apply and kills it at point; it returns what apply had
// done by then, as the simulator and apply's stderr saw it, or "" when
// apply succeeded before reaching the point.
func (f *fleet) killApply(t *testing.T, point killPoint) string {
	sim := f.sim
	sim.resetStats()
	if point.stall != nil {
		stall := *point.stall
		stall.Latency = "1500ms"
		if err := sim.addFault(stall); err != nil {
			t.Fatal(err)
		}
	}

	var once sync.Once
	kill := func(p *process) { once.Do(p.kill) }
	var onLine func(*process, string)
	if point.stderr != "" {
		onLine = func(p *process, line string) {
			if strings.Contains(line, point.stderr) && !strings.Contains(line, f.path) {
				if point.delay > 0 {
					time.AfterFunc(point.delay, func() { kill(p) })
				} else {
					kill(p)
				}
			}
		}
	}
	p := f.start(onLine, "apply")
	exited := make(chan struct{})
	go func() {
		<-p.done
		close(exited)
	}()
	if point.after > 0 {
		select {
		case <-time.After(point.after):
			kill(p)
		case <-exited:
		}
	}
	if point.route != "" {
		tick := time.NewTicker(2 * time.Millisecond)
	poll:
		for {
			select {
			case <-exited:
				break poll
			case <-tick.C:
				st, err := sim.stats()
				if err == nil && st.ByRoute[point.route] >= point.count {
					kill(p)
					break poll
				}
			}
		}
		tick.Stop()
	}
	wasKilled, _ := p.wait()
	if !wasKilled {
		if p.cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("apply failed before the kill point %q:\n%s", point.name, p.stderrText())
		}
		// Not a kill point of this apply (it finished first): the round
		// still checks the convergence, but the point is not counted.
		t.Logf("apply finished before the kill point %q", point.name)
		sim.clearFaults()
		return ""
	}
	st := sim.mustStats()
	lines := p.stderr()
	last := "no output"
	if len(lines) > 0 {
		last = fmt.Sprintf("%q", lines[len(lines)-1].text)
	}
	inFlight := ""
	if point.stall != nil {
		inFlight = ", in flight: " + point.stall.Method + " " + point.stall.Path
	}
	seen := fmt.Sprintf("after %d API requests (creates: %d ssh key, %d firewall, %d server; %d action polls)%s, last line %s",
		st.Total, st.ByRoute["POST /v1/ssh_keys"], st.ByRoute["POST /v1/firewalls"], st.ByRoute["POST /v1/servers"],
		st.ByRoute["GET /v1/actions"], inFlight, last)
	f.checkNoSecrets(p.stdout.String() + p.stderrText())
	sim.clearFaults()
	// A killed apply leaves its lock until it expires; the next apply
	// would be refused meanwhile. Break it, as after a cancelled job
	// (TestKilledApplysLockTakenOver waits for the expiry instead).
	if r := f.fleetctl(context.Background(), "unlock", "--confirm", fleetName); r.code != 0 {
		t.Fatalf("unlock after the kill: %s", r)
	}
	return seen
}

// TestInterruptedWriteLeavesNoTemporaryFile: apply writes each file on the
// manager to a temporary file first and renames it into place. When apply
// is killed mid-write, the next apply must not leave that temporary file
// behind — for the plugin binary it is tens of megabytes, once per
// interrupted apply.
func TestInterruptedWriteLeavesNoTemporaryFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes")
	}
	t.Parallel()
	f, seen := killAndConverge(t, killPoint{name: "uploading the fleetctl binary", stderr: "/usr/local/bin/fleetctl", delay: 30 * time.Millisecond})
	if seen == "" {
		t.Fatal("apply finished before it could be killed mid-upload")
	}
	left, err := f.temporaryFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("apply killed %s, then run again: temporary files left on the manager: %v", seen, left)
	}
}

// TestUpdateKilledConverges kills applies of changes to an applied fleet.
// A server_type change runs shutdown, change_type and poweron one after
// another; apply killed between any of them leaves the manager off or
// half-changed, and the next apply finishes the change and powers it on. A
// plugin setting change writes config.toml and then restarts gitlab-runner;
// apply killed in between leaves a restart owed, which the next apply makes.
func TestUpdateKilledConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulator and fleetctl processes per kill point")
	}
	serverType := func(text string) string {
		if strings.Count(text, "server_type: cpx11") != 1 {
			t.Fatal("tutorial fleet.yaml: want one server_type: cpx11 (the manager's)")
		}
		return strings.Replace(text, "server_type: cpx11", "server_type: cpx21", 1)
	}
	maxInstances := func(text string) string {
		if strings.Count(text, "max_instances: 5") != 1 {
			t.Fatal("tutorial fleet.yaml: want one max_instances: 5")
		}
		return strings.Replace(text, "max_instances: 5", "max_instances: 4", 1)
	}
	for _, tc := range []struct {
		point       killPoint
		edit        func(string) string
		managerType string
		// pluginFiles are the files whose change needs a restart: the
		// fleet.yaml copy changes with server_type, but not in a plugin
		// setting.
		pluginFiles []string
	}{
		{killPoint{name: "shutdown requested", route: "POST /v1/servers/{id}/actions/shutdown", count: 1},
			serverType, "cpx21", []string{"usr/local/bin/fleetctl"}},
		{killPoint{name: "change_type in flight", stall: &fault{Method: "POST", Path: "/v1/servers/*/actions/change_type"},
			route: "POST /v1/servers/{id}/actions/change_type", count: 1}, serverType, "cpx21", []string{"usr/local/bin/fleetctl"}},
		{killPoint{name: "poweron requested", route: "POST /v1/servers/{id}/actions/poweron", count: 1},
			serverType, "cpx21", []string{"usr/local/bin/fleetctl"}},
		{killPoint{name: "plugin setting written", stderr: "/etc/gitlab-runner/config.toml", delay: 5 * time.Millisecond},
			maxInstances, "cpx11", []string{"usr/local/bin/fleetctl", "etc/fleetctl/fleet.yaml", "etc/gitlab-runner/config.toml"}},
		{killPoint{name: "restarting for a plugin setting", stderr: "Restarting gitlab-runner"},
			maxInstances, "cpx11", []string{"usr/local/bin/fleetctl", "etc/fleetctl/fleet.yaml", "etc/gitlab-runner/config.toml"}},
	} {
		t.Run(strings.ReplaceAll(tc.point.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sim := startSimulator(t, simOptions{actionDuration: 200 * time.Millisecond})
			f := newFleet(t, sim, nil)
			f.mustExit(ctx, 0, "apply")
			f.writeSpec(tc.edit)
			f.managerType, f.pluginFiles = tc.managerType, tc.pluginFiles
			seen := f.killApply(t, tc.point)
			if seen == "" {
				t.Fatalf("apply finished before the kill point %q", tc.point.name)
			}
			if r := f.fleetctl(ctx, "apply"); r.code != 0 {
				t.Fatalf("apply after the kill (%s) failed: %s", seen, r)
			}
			f.checkConverged(ctx)
		})
	}
}

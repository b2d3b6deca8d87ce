package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// BenchmarkPlan measures `fleetctl plan` on the applied tutorial fleet in a
// project that also holds 1,000 unrelated servers: API requests, wall time
// (process start to exit, SSH reads of the manager's files included) and
// peak memory. Goals: at most 4 requests, the same with ten SSH keys and
// five firewalls in the spec; below 0.25 s. Planned also without the SSH
// key, which shows the part of the time the manager's files take.
func BenchmarkPlan(b *testing.B) {
	noEdit := func(*testing.B) func(string) string { return nil }
	for _, bc := range []struct {
		name string
		edit func(b *testing.B) func(string) string
		// withoutSSHKey plans as a merge request pipeline does: no SSH key,
		// so the manager's files are not read (the cloud part alone).
		withoutSSHKey bool
	}{
		{name: "tutorial", edit: noEdit},
		{name: "10-ssh-keys-5-firewalls", edit: moreKeysAndFirewalls},
		{name: "tutorial-without-ssh-key", edit: noEdit, withoutSSHKey: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			sim := startSimulator(b, simOptions{rateLimit: 1_000_000})
			f := newFleet(b, sim, bc.edit(b))
			f.mustExit(ctx, 0, "apply")
			createUnrelatedServers(b, sim, 1000)
			if bc.withoutSSHKey {
				if err := os.Remove(filepath.Join(f.dir, "id_ed25519")); err != nil {
					b.Fatal(err)
				}
			}
			f.mustExit(ctx, 0, "plan", "--detailed-exitcode") // warm the page cache

			var requests int
			var wall time.Duration
			var maxRSS int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sim.resetStats()
				r := f.mustExit(ctx, 0, "plan", "--detailed-exitcode")
				requests += sim.mustStats().Total
				wall += r.wall
				maxRSS = max(maxRSS, r.maxRSSKiB)
			}
			b.StopTimer()
			st := sim.mustStats()
			perOp := float64(requests) / float64(b.N)
			b.ReportMetric(perOp, "requests/op")
			b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
			b.Logf("plan, %s, 1,000 unrelated servers: %.1f API requests %v, wall %s, peak RSS %.1f MiB (goals: ≤ 4 requests, < 250ms)",
				bc.name, perOp, st.ByRoute, (wall / time.Duration(b.N)).Round(time.Millisecond), float64(maxRSS)/1024)
		})
	}
}

// moreKeysAndFirewalls edits the tutorial fleet to hold ten SSH keys and
// five firewalls.
func moreKeysAndFirewalls(b *testing.B) func(string) string {
	dir := b.TempDir()
	var keys, firewalls strings.Builder
	for i := 1; i <= 9; i++ {
		pub, _ := newSSHKey(b)
		path := filepath.Join(dir, fmt.Sprintf("extra-%d.pub", i))
		if err := os.WriteFile(path, []byte(pub), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&keys, "  - name: extra-%d\n    public_key_file: %s\n", i, path)
	}
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&firewalls, `  - name: extra-%d
    rules:
      - {description: allow http, direction: in, protocol: tcp, port: "%d", source_ips: [0.0.0.0/0, "::/0"]}
    apply_to:
      - label_selector: web-%d
`, i, 8000+i, i)
	}
	return func(text string) string {
		i := strings.Index(text, "\nfirewalls:\n")
		j := strings.Index(text, "\nmanager:\n")
		if i < 0 || j < i {
			b.Fatal("tutorial fleet.yaml: no firewalls or manager section")
		}
		return strings.TrimRight(text[:i], "\n") + "\n" + keys.String() + text[i:j] + firewalls.String() + text[j:]
	}
}

// createUnrelatedServers creates n servers without the fleet's labels,
// concurrently, not started (so they run no SSH host).
func createUnrelatedServers(b *testing.B, sim *simulator, n int) {
	ctx := context.Background()
	start := time.Now()
	names := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				_, _, err := sim.client.Server.Create(ctx, hcloud.ServerCreateOpts{
					Name: name, ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"},
					Location: &hcloud.Location{Name: "fsn1"}, StartAfterCreate: hcloud.Ptr(false),
					Labels: map[string]string{"team": "web", "runner": ""},
				})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		names <- fmt.Sprintf("unrelated-%04d", i)
	}
	close(names)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("create unrelated servers: %v", firstErr)
	}
	b.Logf("created %d unrelated servers in %s", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkApplyFromEmpty measures `fleetctl apply` of the tutorial fleet
// from an empty project with every action taking 1 s, against its critical
// path: reading the live state (until the first create starts), then the
// server's create_server and start_server (concurrent: one action), then
// the longer of change_protection (one action; the server is locked until
// it started) and the work on the manager over SSH (connect, cloud-init,
// the file pushes, the restart) — measured from apply's own progress
// lines. The SSH key and the firewall are created concurrently with the
// server and are not on the path. Goal: within 20 % of the critical path.
func BenchmarkApplyFromEmpty(b *testing.B) {
	const action = time.Second
	ctx := context.Background()
	var apply, critical, readPhase, sshPhase time.Duration
	var requests int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sim := startSimulator(b, simOptions{actionDuration: action})
		f := newFleet(b, sim, nil)
		b.StartTimer()
		p := f.start(nil, "apply")
		killed, wall := p.wait()
		b.StopTimer()
		if killed || p.cmd.ProcessState.ExitCode() != 0 {
			b.Fatalf("apply failed:\n%s", p.stderrText())
		}
		firstCreate, ok1 := p.firstLine(": Creating...")
		connect, ok2 := p.firstLine("Connecting to runner-manager")
		restart, ok3 := p.firstLine("Restarting gitlab-runner")
		if !ok1 || !ok2 || !ok3 {
			b.Fatalf("apply's progress lacks a create, the SSH connection or the restart:\n%s", p.stderrText())
		}
		sshEnd := wall
		for _, l := range p.stderr() {
			if l.at > restart {
				sshEnd = l.at
				break
			}
		}
		ssh := sshEnd - connect
		path := firstCreate + action + max(action, ssh)
		apply += wall
		critical += path
		readPhase += firstCreate
		sshPhase += ssh
		requests += sim.mustStats().Total
		f.checkConverged(ctx)
		if i == 0 && testing.Verbose() {
			b.Logf("apply's progress (time since start):\n%s", stamped(p.stderr()))
		}
	}
	n := time.Duration(b.N)
	ratio := float64(apply) / float64(critical)
	b.ReportMetric(ratio, "apply/critical-path")
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.Logf("apply from empty, actions 1 s: %s; critical path %s = read %s + server 1s + max(protection 1s, SSH work %s); ratio %.2f (goal ≤ 1.20); %.1f API requests",
		(apply / n).Round(time.Millisecond), (critical / n).Round(time.Millisecond), (readPhase / n).Round(time.Millisecond),
		(sshPhase / n).Round(time.Millisecond), ratio, float64(requests)/float64(b.N))
}

func stamped(lines []stampedLine) string {
	var sb strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&sb, "%8s  %s\n", l.at.Round(time.Millisecond), l.text)
	}
	return sb.String()
}

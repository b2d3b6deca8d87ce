package reconcile_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

// readCounter counts the bytes read whole from each path on the manager.
type readCounter struct {
	mu    sync.Mutex
	bytes map[string]int
}

func (r *readCounter) add(path string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes[path] += n
}

func (r *readCounter) read(path string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.bytes[path]
	return n, ok
}

// countingConnector hands out the manager's Files with every ReadFile
// counted.
type countingConnector struct {
	reconcile.Connector
	reads *readCounter
}

func (c countingConnector) Connect(ctx context.Context, ep reconcile.Endpoint, wait bool) (reconcile.Files, error) {
	f, err := c.Connector.Connect(ctx, ep, wait)
	if err != nil {
		return nil, err
	}
	return countingFiles{f, c.reads}, nil
}

type countingFiles struct {
	reconcile.Files
	reads *readCounter
}

func (f countingFiles) ReadFile(ctx context.Context, path string, limit int64) ([]byte, fs.FileInfo, error) {
	data, info, err := f.Files.ReadFile(ctx, path, limit)
	f.reads.add(path, len(data))
	return data, info, err
}

// planCountingReads plans and returns what was read whole from the manager.
func (e *env) planCountingReads() (*reconcile.Plan, *readCounter) {
	e.t.Helper()
	s := e.session()
	reads := &readCounter{bytes: map[string]int{}}
	s.Connector = countingConnector{s.Connector, reads}
	p, err := s.Plan(context.Background(), false)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	return p, reads
}

// TestPlanTrustsTheBinaryDigestRecord: after apply pushed the plugin binary,
// plan compares it by the digest record (size and mtime), never reading the
// binary; a binary replaced behind fleetctl's back, or a missing record,
// makes plan read the binary whole.
func TestPlanTrustsTheBinaryDigestRecord(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()

	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := os.ReadFile(trueBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pushed)
	record := string(e.managerFile(reconcile.BinaryDigestRecord))
	if want := hex.EncodeToString(sum[:]) + "  " + spec.DefaultPluginPath + "\n"; !strings.HasPrefix(record, want) {
		t.Fatalf("digest record %q does not start with %q", record, want)
	}

	p, reads := e.planCountingReads()
	if p.HasChanges() {
		t.Fatalf("plan after apply:\n%s", planText(t, p))
	}
	if n, ok := reads.read(spec.DefaultPluginPath); ok {
		t.Errorf("plan after apply read the binary (%d bytes); want it compared by its digest record", n)
	}
	if _, ok := reads.read(reconcile.BinaryDigestRecord); !ok {
		t.Error("plan did not read the digest record")
	}

	binPath := filepath.Join(e.stateDir, "servers", "runner-manager", spec.DefaultPluginPath)
	t.Run("a binary replaced behind fleetctl's back is detected", func(t *testing.T) {
		other := append([]byte(nil), pushed...)
		other[len(other)-1] ^= 0xff // same size, other content; the write gives it a new mtime
		if err := os.WriteFile(binPath, other, 0o755); err != nil {
			t.Fatal(err)
		}
		p, reads := e.planCountingReads()
		mustEqual(t, "plan", []string{"file.fleetctl_binary update"}, changed(p))
		otherSum := sha256.Sum256(other)
		if ch := p.Change(reconcile.AddrBinary); ch.Before["sha256"] != hex.EncodeToString(otherSum[:]) {
			t.Errorf("plan shows the live binary as %v, want the replacement's digest", ch.Before["sha256"])
		}
		if n, _ := reads.read(spec.DefaultPluginPath); n != len(other) {
			t.Errorf("plan read %d bytes of the binary, want all %d", n, len(other))
		}
		before := e.restarts()
		e.mustApply()
		if e.restarts() != before+1 {
			t.Errorf("restarts %d -> %d, want one more after the binary was written", before, e.restarts())
		}
		got, _ := os.ReadFile(binPath)
		if string(got) != string(pushed) {
			t.Error("apply did not restore the binary")
		}
		p, reads = e.planCountingReads()
		if p.HasChanges() {
			t.Fatalf("plan after apply:\n%s", planText(t, p))
		}
		if n, ok := reads.read(spec.DefaultPluginPath); ok {
			t.Errorf("plan after the second apply read the binary (%d bytes)", n)
		}
	})

	t.Run("a missing record makes plan read the binary whole", func(t *testing.T) {
		if err := os.Remove(filepath.Join(e.stateDir, "servers", "runner-manager", reconcile.BinaryDigestRecord)); err != nil {
			t.Fatal(err)
		}
		p, reads := e.planCountingReads()
		if p.HasChanges() {
			t.Fatalf("plan without a record:\n%s", planText(t, p))
		}
		if n, _ := reads.read(spec.DefaultPluginPath); n != len(pushed) {
			t.Errorf("plan read %d bytes of the binary, want all %d", n, len(pushed))
		}
		// The next apply that writes files anyway records the digest again.
		e.writeFleet(map[string]string{"idle_count": "6"})
		mustEqual(t, "plan", []string{"file.fleet_yaml update", "file.config_toml update"}, changed(e.plan(false)))
		before := e.restarts()
		e.mustApply()
		if e.restarts() != before {
			t.Error("recording the digest restarted gitlab-runner")
		}
		p, reads = e.planCountingReads()
		if p.HasChanges() {
			t.Fatalf("plan after apply:\n%s", planText(t, p))
		}
		if n, ok := reads.read(spec.DefaultPluginPath); ok {
			t.Errorf("plan after the apply read the binary (%d bytes): the record was not repaired", n)
		}
	})

	t.Run("a record voided by an interrupted push makes plan read the binary whole", func(t *testing.T) {
		recPath := filepath.Join(e.stateDir, "servers", "runner-manager", reconcile.BinaryDigestRecord)
		if err := os.WriteFile(recPath, []byte("# the file is being replaced: no digest recorded\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p, reads := e.planCountingReads()
		if p.HasChanges() {
			t.Fatalf("plan with a voided record:\n%s", planText(t, p))
		}
		if n, _ := reads.read(spec.DefaultPluginPath); n != len(pushed) {
			t.Errorf("plan read %d bytes of the binary, want all %d", n, len(pushed))
		}
	})
}

// TestApplyWritesThePlannedBinary: apply reads --plugin-binary only when it
// writes it and writes exactly its bytes; a binary rebuilt between plan and
// apply is refused, leaving the manager's binary and its record alone.
func TestApplyWritesThePlannedBinary(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(trueBin)
	if err != nil {
		t.Fatal(err)
	}
	e.pluginBinary = filepath.Join(t.TempDir(), "fleetctl")
	install := func(content []byte) {
		t.Helper()
		if err := os.WriteFile(e.pluginBinary, content, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	install(first)
	e.mustApply()
	if got := e.managerFile(spec.DefaultPluginPath); !bytes.Equal(got, first) {
		t.Fatalf("apply pushed %d bytes, not the binary's %d", len(got), len(first))
	}
	record := e.managerFile(reconcile.BinaryDigestRecord)

	planned := append(append([]byte(nil), first...), "planned"...)
	install(planned)
	s := e.session()
	p, err := s.Plan(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "plan", []string{"file.fleetctl_binary update"}, changed(p))
	install(append(append([]byte(nil), first...), "rebuilt"...))
	if _, err := s.Apply(context.Background(), p, false); err == nil || !strings.Contains(err.Error(), "changed since it was planned") {
		t.Errorf("apply of a binary rebuilt since plan: %v, want a refusal", err)
	}
	if got := e.managerFile(spec.DefaultPluginPath); !bytes.Equal(got, first) {
		t.Errorf("the refused apply changed the manager's binary (%d bytes)", len(got))
	}
	if got := e.managerFile(reconcile.BinaryDigestRecord); !bytes.Equal(got, record) {
		t.Errorf("the refused apply changed the digest record: %q, was %q", got, record)
	}

	install(planned)
	e.mustApply()
	if got := e.managerFile(spec.DefaultPluginPath); !bytes.Equal(got, planned) {
		t.Errorf("apply pushed %d bytes, not the binary's %d", len(got), len(planned))
	}
	if p := e.plan(false); p.HasChanges() {
		t.Errorf("plan after apply:\n%s", planText(t, p))
	}
}

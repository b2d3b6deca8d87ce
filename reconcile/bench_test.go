package reconcile_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
)

// BenchmarkPlanAppliedFleet measures plan on an applied fleet whose plugin
// binary is as large as fleetctl's (22 MB): the whole command's work, from
// loading fleet.yaml to the diff. "record" is the usual case; "no record"
// is a manager without the binary's digest record, where plan reads the
// binary whole over SFTP.
func BenchmarkPlanAppliedFleet(b *testing.B) {
	requireSSHHosts(b)
	for _, bm := range []struct {
		name     string
		noRecord bool
	}{{name: "record"}, {name: "no record", noRecord: true}} {
		b.Run(bm.name, func(b *testing.B) {
			e := newEnv(b, hcloudsim.Options{})
			e.pluginBinary = largeBinary(b, 22<<20)
			e.mustApply()
			record := filepath.Join(e.stateDir, "servers", "runner-manager", reconcile.BinaryDigestRecord)
			ctx := context.Background()
			e.sim.ResetStats()
			b.ResetTimer()
			for b.Loop() {
				if bm.noRecord {
					os.Remove(record)
				}
				p, err := e.session().Plan(ctx, false)
				if err != nil {
					b.Fatal(err)
				}
				if p.HasChanges() {
					b.Fatalf("plan:\n%s", planText(b, p))
				}
			}
			b.ReportMetric(float64(e.sim.Stats().Total)/float64(b.N), "requests/op")
		})
	}
}

// largeBinary is a linux/amd64 executable of about size bytes: true(1)
// padded with zeros, which its ELF headers do not cover.
func largeBinary(b *testing.B, size int) string {
	b.Helper()
	trueBin, err := exec.LookPath("true")
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(trueBin)
	if err != nil {
		b.Fatal(err)
	}
	if len(data) < size {
		data = append(data, make([]byte, size-len(data))...)
	}
	path := filepath.Join(b.TempDir(), "fleetctl")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		b.Fatal(err)
	}
	return path
}

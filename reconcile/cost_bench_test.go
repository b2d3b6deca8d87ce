package reconcile

import (
	"testing"

	"github.com/fleetctl/fleetctl/spec"
)

// BenchmarkEstimateCost measures the cost estimate plan adds: weighing a
// runner's policies minute by minute over a week (office hours in Berlin
// over an all-week floor).
func BenchmarkEstimateCost(b *testing.B) {
	f := &spec.Fleet{Name: "ci", GitLabRunner: spec.GitLabRunner{Runners: []spec.Runner{{Name: "docker", Autoscaler: tutorialAutoscaler(
		spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 4},
		spec.Policy{Periods: []string{"* 8-17 * * mon-fri"}, Timezone: "Europe/Berlin", IdleCount: 8},
	)}}}}
	d := &Desired{Fleet: "ci", Manager: DesiredServer{Name: "runner-manager", ServerType: "cpx11", Location: "hel1"}}
	p := &Plan{}
	prices := testPrices()
	b.ReportAllocs()
	for b.Loop() {
		EstimateCost(f, d, &Live{}, p, prices)
	}
}

package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// BenchmarkStatus measures fleetctl status on the tutorial fleet with three
// running instances in a project that holds 1,000 unrelated servers: the
// API requests a look costs (a constant: the label-filtered lists and the
// prices), its wall time and memory, and how many looks an hour --watch's
// default 30 s makes of Hetzner's 3,600 requests.
func BenchmarkStatus(b *testing.B) {
	requireSSHHosts(b)
	e := newEnv(b, hcloudsim.Options{})
	e.mustApply()
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("unrelated-%d", i),
			ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}, Labels: map[string]string{"team": "web"}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, _, err := e.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("runner-docker-autoscaler-%d", i),
			ServerType: &hcloud.ServerType{Name: "cpx21"}, Image: &hcloud.Image{Name: "debian-12"},
			Labels: map[string]string{"fleetctl.io/fleet": e.fleet, "fleetctl.io/role": "instance", "fleetctl.io/runner": statusRunner}}); err != nil {
			b.Fatal(err)
		}
	}
	e.sim.ResetStats()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, err := e.session().Status(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if st.Runners[0].Total != 3 {
			b.Fatalf("instances = %+v", st.Runners[0])
		}
	}
	perLook := float64(e.sim.Stats().Total) / float64(b.N)
	b.ReportMetric(perLook, "requests/op")
	b.ReportMetric(perLook*3600/30, "requests/hour@30s")
}

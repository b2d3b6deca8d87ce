package reconcile_test

import (
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

// TestPlanCost checks the plan's cost line against hand arithmetic from the
// simulator's prices (Hetzner's list, net): the manager cpx11 in hel1
// €4.99 and its primary IPv4 €0.50 (IPv6 is free); each instance a cpx21
// €8.99 with its IPv4 €0.50, €0.0152 an hour; idle_count 8 over capacity 4
// keeps 2 instances all week (€18.98), max_instances 5 is €47.45.
func TestPlanCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	p := e.plan(false)
	want := "Cost: €0.00/month → €5.49/month (+€5.49); instances €18.98–€47.45/month, excl. 19.00 % VAT"
	if got := planview.CostLine(p.Cost); got != want {
		t.Errorf("new fleet:\n  %s\nwant\n  %s", got, want)
	}
	if text := planText(t, p); !strings.Contains(text, "\nPlan: ") || !strings.Contains(text, "destroy.\n"+want+"\n") {
		t.Errorf("the cost line does not follow Plan:\n%s", text)
	}
	if js := planJSON(t, p); !strings.Contains(js, `"cost": {`) || !strings.Contains(js, `"instances_max": {`) {
		t.Errorf("JSON plan has no cost object:\n%s", js)
	}

	e.mustApply()
	e.writeFleet(map[string]string{"server_type": "cpx21", "idle_count": "4"})
	p = e.plan(false)
	// cpx21 €8.99 + €0.50; one instance all month €9.49.
	want = "Cost: €5.49/month → €9.49/month (+€4.00); instances €9.49–€47.45/month, excl. 19.00 % VAT"
	if got := planview.CostLine(p.Cost); got != want {
		t.Errorf("bigger manager:\n  %s\nwant\n  %s", got, want)
	}

	// Prices that cannot be read cost the plan nothing but the estimate.
	if err := e.sim.AddFault(hcloudsim.Fault{Method: "GET", Path: "/v1/pricing", Status: 403, Code: "forbidden"}); err != nil {
		t.Fatal(err)
	}
	p = e.plan(false)
	if got := planview.CostLine(p.Cost); !strings.HasPrefix(got, "Cost: unknown: read prices: ") || !p.HasChanges() {
		t.Errorf("with /pricing forbidden: %q", got)
	}
}

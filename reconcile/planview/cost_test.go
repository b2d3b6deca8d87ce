package planview

import (
	"testing"

	"github.com/fleetctl/fleetctl/reconcile"
)

func TestCostLine(t *testing.T) {
	t.Parallel()
	p := func(net float64) reconcile.Price { return reconcile.Price{Net: net, Gross: net * 1.19} }
	for _, tc := range []struct {
		name string
		cost *reconcile.Cost
		want string
	}{
		{"no estimate asked", nil, ""},
		{"a bigger manager", &reconcile.Cost{Currency: "EUR", VATRate: "19.00", Before: p(5.49), After: p(9.49), Delta: p(4), InstancesMin: p(18.98), InstancesMax: p(47.45)},
			"Cost: €5.49/month → €9.49/month (+€4.00); instances €18.98–€47.45/month, excl. 19.00 % VAT"},
		{"a new fleet", &reconcile.Cost{Currency: "EUR", VATRate: "19.00", After: p(5.49), Delta: p(5.49), InstancesMax: p(47.45)},
			"Cost: €0.00/month → €5.49/month (+€5.49); instances €0.00–€47.45/month, excl. 19.00 % VAT"},
		{"destroyed", &reconcile.Cost{Currency: "EUR", Before: p(5.49), Delta: p(-5.49)},
			"Cost: €5.49/month → €0.00/month (-€5.49); instances €0.00–€0.00/month"},
		{"unchanged", &reconcile.Cost{Currency: "EUR", Before: p(5.49), After: p(5.49), InstancesMin: p(18.98), InstancesMax: p(47.45)},
			"Cost: €5.49/month (unchanged); instances €18.98–€47.45/month"},
		{"no max_instances", &reconcile.Cost{Currency: "EUR", Before: p(5.49), After: p(5.49), InstancesMin: p(9.49), Unbounded: true},
			"Cost: €5.49/month (unchanged); instances €9.49/month and up (a runner has no max_instances)"},
		{"a price missing", &reconcile.Cost{Currency: "EUR", Missing: []string{"Hetzner lists no price for server type cpx21 in sin"}},
			"Cost: unknown: Hetzner lists no price for server type cpx21 in sin"},
		{"prices unreadable", &reconcile.Cost{Unavailable: "read prices: forbidden"}, "Cost: unknown: read prices: forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CostLine(tc.cost); got != tc.want {
				t.Errorf("CostLine =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

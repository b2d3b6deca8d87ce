package reconcile

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

func eur(net float64) Price { return Price{Net: net, Gross: math.Round(net*1.19*1e4) / 1e4} }

// testPrices are the simulator's (Hetzner's list) for the types the tests use.
func testPrices() *Prices {
	return &Prices{
		Currency: "EUR", VATRate: "19.00",
		ServerTypes: map[string]map[string]Rate{
			"cpx11": {"hel1": {Hourly: eur(0.0080), Monthly: eur(4.99)}},
			"cpx21": {"hel1": {Hourly: eur(0.0144), Monthly: eur(8.99)}},
		},
		PrimaryIPs: map[string]map[string]Rate{
			"ipv4": {"hel1": {Hourly: eur(0.0008), Monthly: eur(0.50)}},
			"ipv6": {"hel1": {}},
		},
		VolumePerGBMonth: eur(0.044),
	}
}

func cents(p Price) string { return fmt.Sprintf("%.2f", p.Net) }

func TestRateForHours(t *testing.T) {
	t.Parallel()
	cpx21 := Rate{Hourly: eur(0.0144), Monthly: eur(8.99)}
	for _, tc := range []struct {
		name  string
		hours float64
		want  string
	}{
		{"nothing", 0, "0.00"},
		{"a few minutes are a whole hour", 0.1, "0.01"}, // 0.0144
		{"a started hour counts whole", 10.2, "0.16"},   // 11 × 0.0144 = 0.1584
		{"a working week", 50, "0.72"},
		{"below the cap", 624, "8.99"}, // 624 × 0.0144 = 8.9856
		{"the cap is reached", 625, "8.99"},
		{"a whole month costs the cap", HoursPerMonth, "8.99"},
		{"even the longest month", 744, "8.99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cents(cpx21.ForHours(tc.hours)); got != tc.want {
				t.Errorf("ForHours(%v) = €%s, want €%s", tc.hours, got, tc.want)
			}
		})
	}
	if g := cpx21.ForHours(HoursPerMonth).Gross; math.Abs(g-10.6981) > 1e-9 {
		t.Errorf("gross is capped at the gross monthly price: %v", g)
	}
}

func TestPolicyAt(t *testing.T) {
	t.Parallel()
	office := []spec.Policy{
		{Periods: []string{"* * * * *"}, IdleCount: 1},
		{Periods: []string{"* 7-19 * * mon-fri"}, Timezone: "Europe/Berlin", IdleCount: 8},
		{Periods: []string{"* 12 * * 3"}, Timezone: "America/New_York", IdleCount: 20},
	}
	for _, tc := range []struct {
		name string
		at   string
		want PolicyMatch
	}{
		{"Monday 07:30 in Berlin is 06:30 UTC", "2026-01-05T06:30:00Z", PolicyMatch{Index: 1, Period: "* 7-19 * * mon-fri", Timezone: "Europe/Berlin", IdleCount: 8}},
		{"Monday 06:30 in Berlin is before office hours", "2026-01-05T05:30:00Z", PolicyMatch{Index: 0, Period: "* * * * *", Timezone: "UTC", IdleCount: 1}},
		{"summer time moves the hours", "2026-07-06T05:30:00Z", PolicyMatch{Index: 1, Period: "* 7-19 * * mon-fri", Timezone: "Europe/Berlin", IdleCount: 8}},
		{"Saturday", "2026-01-10T10:00:00Z", PolicyMatch{Index: 0, Period: "* * * * *", Timezone: "UTC", IdleCount: 1}},
		{"the last matching policy wins", "2026-01-07T17:15:00Z", PolicyMatch{Index: 2, Period: "* 12 * * 3", Timezone: "America/New_York", IdleCount: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			if d := cmp.Diff(tc.want, PolicyAt(office, at)); d != "" {
				t.Errorf("PolicyAt(%s) (-want +got):\n%s", tc.at, d)
			}
		})
	}
	if m := PolicyAt(nil, time.Now()); m.Index != -1 || m.IdleCount != 0 {
		t.Errorf("no policy: %+v, want idle_count 0", m)
	}
}

func tutorialAutoscaler(policy ...spec.Policy) *spec.Autoscaler {
	return &spec.Autoscaler{CapacityPerInstance: 4, MaxInstances: 5, Policy: policy,
		Instances: spec.Instances{Name: "runner-docker-autoscaler", Location: "hel1", ServerType: spec.StringList{"cpx21"}, Image: "debian-12"}}
}

func TestRunnerCost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		a          *spec.Autoscaler
		floor      float64
		min, max   string
		missingErr bool
	}{
		// cpx21 + IPv4: €0.0152/h, €9.49/month.
		{"idle 8 of capacity 4 all week: 2 instances all month",
			tutorialAutoscaler(spec.Policy{Periods: []string{"* * * * *"}, Timezone: "Europe/Berlin", IdleCount: 8}), 2, "18.98", "47.45", false},
		{"no policy keeps nothing idle", tutorialAutoscaler(), 0, "0.00", "47.45", false},
		{"idle 5 rounds up to 2 instances",
			tutorialAutoscaler(spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 5}), 2, "18.98", "47.45", false},
		{"the floor never exceeds max_instances",
			tutorialAutoscaler(spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 100}), 5, "47.45", "47.45", false},
		// Office hours: 5 days × 10 h = 50 of 168 hours, 29.76 % of the
		// month: 217.26 h → 218 started hours × 0.0152 = 3.3136 per instance.
		{"office hours in Berlin",
			tutorialAutoscaler(spec.Policy{Periods: []string{"* 8-17 * * mon-fri"}, Timezone: "Europe/Berlin", IdleCount: 8}), 0.6, "6.63", "47.45", false},
		{"office hours plus one all week",
			tutorialAutoscaler(
				spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 4},
				spec.Policy{Periods: []string{"* 8-17 * * mon-fri"}, Timezone: "Europe/Berlin", IdleCount: 8}), 1.3, "12.80", "47.45", false},
		{"a type without a price is said, not guessed", func() *spec.Autoscaler {
			a := tutorialAutoscaler()
			a.Instances.ServerType = spec.StringList{"cpx99"}
			return a
		}(), 0, "", "", true},
		{"no IPv4: cheaper", func() *spec.Autoscaler {
			a := tutorialAutoscaler(spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 4})
			a.Instances.PublicIPv4Disabled = true
			return a
		}(), 1, "8.99", "44.95", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			item, err := runnerCost(testPrices(), "docker", tc.a)
			if tc.missingErr {
				if err == nil || err.Error() != "runner docker: Hetzner lists no price for server type cpx99 in hel1" {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := [3]string{fmt.Sprintf("%.1f", item.FloorInstances), cents(item.Min), cents(item.Max)}; got != [3]string{fmt.Sprintf("%.1f", tc.floor), tc.min, tc.max} {
				t.Errorf("floor, min, max = %v; want %.1f, %s, %s", got, tc.floor, tc.min, tc.max)
			}
		})
	}
}

func TestEstimateCost(t *testing.T) {
	t.Parallel()
	f := &spec.Fleet{Name: "ci", GitLabRunner: spec.GitLabRunner{Runners: []spec.Runner{
		{Name: "docker", Autoscaler: tutorialAutoscaler(spec.Policy{Periods: []string{"* * * * *"}, IdleCount: 8})},
	}}}
	d := &Desired{Fleet: "ci", Manager: DesiredServer{Name: "runner-manager", ServerType: "cpx21", Location: "hel1"}}
	live := &Live{Servers: []Server{
		{ID: 1, Name: "runner-manager", ServerType: "cpx11", Location: "hel1", IPv4: "192.0.2.1", IPv6: "2001:db8::/64", Labels: owner(RoleManager, nil)},
		{ID: 2, Name: "runner-docker-autoscaler-1", ServerType: "cpx21", Location: "hel1", IPv4: "192.0.2.2", Labels: owner(RoleInstance, nil)},
	}}
	p := &Plan{Changes: []Change{{Addr: "hcloud_server.runner-manager", Action: Update}}}
	c := EstimateCost(f, d, live, p, testPrices())
	// Before: cpx11 4.99 + IPv4 0.50; after: cpx21 8.99 + IPv4 0.50.
	got := [5]string{cents(c.Before), cents(c.After), cents(c.Delta), cents(c.InstancesMin), cents(c.InstancesMax)}
	if want := [5]string{"5.49", "9.49", "4.00", "18.98", "47.45"}; got != want {
		t.Errorf("before, after, delta, instances min, max = %v, want %v", got, want)
	}
	if !c.Complete() || c.Currency != "EUR" || len(c.Items) != 4 {
		t.Errorf("cost = %+v", c)
	}

	p.Changes[0].Action = Delete
	c = EstimateCost(f, d, live, p, testPrices())
	if cents(c.After) != "0.00" || cents(c.Delta) != "-5.49" || cents(c.InstancesMax) != "0.00" {
		t.Errorf("deleting the manager: after %s, delta %s, instances max %s", cents(c.After), cents(c.Delta), cents(c.InstancesMax))
	}

	d.Manager.Location = "sin"
	p.Changes[0].Action = Update
	c = EstimateCost(f, d, live, p, testPrices())
	if c.Complete() || c.Missing[0] != "Hetzner lists no price for server type cpx21 in sin" {
		t.Errorf("missing = %q", c.Missing)
	}
}

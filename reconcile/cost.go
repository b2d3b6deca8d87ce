package reconcile

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fleetctl/fleetctl/spec"
)

// Cost is what a plan does to the bill, per month, from Hetzner's own
// prices. The manager and its primary IPs are known exactly; the
// autoscaled instances are a range, from the idle floor the policies keep
// to max_instances running all month.
type Cost struct {
	Currency string `json:"currency"`
	// VATRate is the percentage gross adds, e.g. "19.00".
	VATRate string `json:"vat_rate"`
	// Before and After are the monthly cost of the fixed part (the
	// manager and its primary IPs) before and after the plan.
	Before Price `json:"before"`
	After  Price `json:"after"`
	// Delta is After - Before.
	Delta Price `json:"delta"`
	// InstancesMin and InstancesMax bound the autoscaled instances'
	// monthly cost after the plan; Unbounded is set when a runner has no
	// max_instances (then InstancesMax counts only the bounded ones).
	InstancesMin Price `json:"instances_min"`
	InstancesMax Price `json:"instances_max"`
	Unbounded    bool  `json:"instances_unbounded,omitempty"`
	// Items are what After and the instance range are made of.
	Items []CostItem `json:"items"`
	// Missing lists prices Hetzner does not state; when not empty, the
	// sums leave those items out and renderers say so instead of a total.
	Missing []string `json:"missing,omitempty"`
	// Unavailable, when set, says why there is no estimate at all (the
	// prices could not be read); every other field is then zero.
	Unavailable string `json:"unavailable,omitempty"`
}

// CostItem is one priced part of the fleet after the plan.
type CostItem struct {
	// What is "manager", "manager primary ipv4" or "runner NAME".
	What       string `json:"what"`
	ServerType string `json:"server_type,omitempty"`
	Location   string `json:"location"`
	// Rate is one unit's rate (one instance, for a runner).
	Rate Rate `json:"rate"`
	// Monthly is the item's monthly cost; for a runner, Min and Max.
	Monthly Price `json:"monthly"`
	Min     Price `json:"min,omitempty"`
	Max     Price `json:"max,omitempty"`
	// FloorInstances is the idle floor in instances averaged over a week;
	// MaxInstances the runner's max_instances.
	FloorInstances float64 `json:"floor_instances,omitempty"`
	MaxInstances   int     `json:"max_instances,omitempty"`
}

// Complete reports whether every price was found.
func (c *Cost) Complete() bool { return len(c.Missing) == 0 }

// EstimateCost prices the plan: the live managers before it, the desired
// manager after it (none when the plan deletes it), each with the primary
// IPs it has or will have, and every runner's instances.
func EstimateCost(f *spec.Fleet, d *Desired, l *Live, p *Plan, prices *Prices) *Cost {
	c := &Cost{Currency: prices.Currency, VATRate: prices.VATRate, Items: []CostItem{}}
	missing := func(err error) {
		if !slices.Contains(c.Missing, err.Error()) {
			c.Missing = append(c.Missing, err.Error())
		}
	}
	for _, s := range l.Servers {
		if !isManagedRole(s.Labels, RoleManager) {
			continue
		}
		r, err := serverRate(prices, s.ServerType, s.Location, s.IPv4 != "", s.IPv6 != "")
		if err != nil {
			missing(err)
			continue
		}
		c.Before = c.Before.Add(r.PerMonth())
	}
	deleted := false
	if ch := p.Change(NewAddr(KindServer, d.Manager.Name)); ch != nil && ch.Action == Delete {
		deleted = true
	}
	if !deleted {
		m := d.Manager
		r, err := prices.ServerType(m.ServerType, m.Location)
		if err != nil {
			missing(err)
		} else {
			c.Items = append(c.Items, CostItem{What: "manager", ServerType: m.ServerType, Location: m.Location, Rate: r, Monthly: r.PerMonth()})
			c.After = c.After.Add(r.PerMonth())
		}
		for _, typ := range []string{"ipv4", "ipv6"} {
			r, err := prices.PrimaryIP(typ, m.Location)
			if err != nil {
				missing(err)
				continue
			}
			c.Items = append(c.Items, CostItem{What: "manager primary " + typ, Location: m.Location, Rate: r, Monthly: r.PerMonth()})
			c.After = c.After.Add(r.PerMonth())
		}
	}
	c.Delta = c.After.Sub(c.Before)
	if deleted {
		return c
	}
	for _, rn := range f.GitLabRunner.Runners {
		if rn.Autoscaler == nil {
			continue
		}
		item, err := runnerCost(prices, rn.Name, rn.Autoscaler)
		if err != nil {
			missing(err)
			continue
		}
		c.Items = append(c.Items, item)
		c.InstancesMin = c.InstancesMin.Add(item.Min)
		c.InstancesMax = c.InstancesMax.Add(item.Max)
		if item.MaxInstances == 0 {
			c.Unbounded = true
		}
	}
	return c
}

// serverRate is a server's rate with its primary IPs.
func serverRate(prices *Prices, serverType, location string, ipv4, ipv6 bool) (Rate, error) {
	r, err := prices.ServerType(serverType, location)
	if err != nil {
		return Rate{}, err
	}
	for _, ip := range []struct {
		typ string
		has bool
	}{{"ipv4", ipv4}, {"ipv6", ipv6}} {
		typ := ip.typ
		if !ip.has {
			continue
		}
		ip, err := prices.PrimaryIP(typ, location)
		if err != nil {
			return Rate{}, err
		}
		r = r.Add(ip)
	}
	return r, nil
}

// instanceRate is the rate of one autoscaled instance of a runner: the
// first server type it tries, its primary IPs and its volume.
func instanceRate(prices *Prices, a *spec.Autoscaler) (Rate, error) {
	in := a.Instances
	if len(in.ServerType) == 0 {
		return Rate{}, fmt.Errorf("no server type")
	}
	r, err := serverRate(prices, in.ServerType[0], in.Location, !in.PublicIPv4Disabled, !in.PublicIPv6Disabled)
	if err != nil {
		return Rate{}, err
	}
	if in.VolumeSize > 0 {
		// Volumes are priced per GB and month; their hourly rate is the
		// monthly price spread over the month.
		v := prices.VolumePerGBMonth.Times(float64(in.VolumeSize))
		r = r.Add(Rate{Hourly: v.Times(1.0 / HoursPerMonth), Monthly: v})
	}
	return r, nil
}

// runnerCost prices a runner's instances: at least the idle floor its
// policies keep, at most max_instances all month. The floor keeps instance
// k (k = 1, 2, …) for the share of a week in which the policy in effect
// asks for at least k instances (idle_count over capacity_per_instance,
// rounded up); that share of the month's hours is billed hourly, up to the
// cap.
func runnerCost(prices *Prices, name string, a *spec.Autoscaler) (CostItem, error) {
	r, err := instanceRate(prices, a)
	if err != nil {
		return CostItem{}, fmt.Errorf("runner %s: %w", name, err)
	}
	in := a.Instances
	item := CostItem{What: "runner " + name, ServerType: in.ServerType[0], Location: in.Location, Rate: r, MaxInstances: a.MaxInstances}
	shares := floorShares(a)
	for _, share := range shares {
		item.Min = item.Min.Add(r.ForHours(share * HoursPerMonth))
		item.FloorInstances += share
	}
	item.FloorInstances = math.Round(item.FloorInstances*100) / 100
	item.Max = r.PerMonth().Times(float64(a.MaxInstances))
	item.Monthly = item.Max
	return item, nil
}

// referenceWeek is the week the policies are weighed over: Monday
// 2026-01-05 00:00 UTC and the 7 days after it. Each policy reads it in its
// own time zone; periods that name days of the month or months are weighed
// as they fall in that week.
var referenceWeek = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const minutesPerWeek = 7 * 24 * 60

// FloorInstancesAt is the idle floor in instances at t: the idle_count
// of the policy in effect over capacity_per_instance, rounded up, at most
// max_instances (when set).
func FloorInstancesAt(a *spec.Autoscaler, t time.Time) (int, PolicyMatch) {
	m := PolicyAt(a.Policy, t)
	return floorOf(a, m.IdleCount), m
}

func floorOf(a *spec.Autoscaler, idle int) int {
	capacity := max(a.CapacityPerInstance, 1)
	n := (idle + capacity - 1) / capacity
	if a.MaxInstances > 0 {
		n = min(n, a.MaxInstances)
	}
	return n
}

// floorShares returns, for k = 1, 2, …, the share of the reference week
// in which the floor is at least k instances. The week is read minute by
// minute.
func floorShares(a *spec.Autoscaler) []float64 {
	policies := compilePolicies(a.Policy)
	var counts []int
	for i := 0; i < minutesPerWeek; i++ {
		n := floorOf(a, policies.at(referenceWeek.Add(time.Duration(i)*time.Minute)).IdleCount)
		for len(counts) < n {
			counts = append(counts, 0)
		}
		for k := 0; k < n; k++ {
			counts[k]++
		}
	}
	shares := make([]float64, len(counts))
	for k, c := range counts {
		shares[k] = float64(c) / minutesPerWeek
	}
	return shares
}

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/spec"
)

// Firewalls: rules set as a whole, label selectors added and removed, all in
// place; pruned after being detached from the label selectors and servers
// they apply to.

func (a *applier) firewallByName(name string) (DesiredFirewall, bool) {
	for _, f := range a.opts.Desired.Firewalls {
		if f.Name == name {
			return f, true
		}
	}
	return DesiredFirewall{}, false
}

func (a *applier) applyFirewall(ctx context.Context, ch Change) error {
	c := a.opts.Cloud
	name := ch.Addr.Name()
	df, ok := a.firewallByName(name)
	if !ok {
		return errors.New("not in the desired state")
	}
	id := ch.ID
	// A step's actions are waited for before the next step; the last
	// step's are waited for at the end of the apply: nothing else depends
	// on a firewall's rules reaching the servers, so the manager need not
	// wait for them.
	var pending []CloudAction
	for _, step := range ch.Steps {
		if err := a.wait(ctx, pending...); err != nil {
			return err
		}
		pending = nil
		switch step {
		case StepCreate:
			a.op(Op{Addr: ch.Addr, Kind: OpCreate})
			fw, acts, err := c.CreateFirewall(ctx, FirewallCreate{Name: df.Name, Labels: df.Labels, Rules: df.Rules, ApplyTo: df.ApplyTo})
			if IsUniquenessError(err) {
				fw, acts, err = a.adoptFirewall(ctx, df)
			}
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			pending = acts
			id = fw.ID
		case StepUpdate, StepAdopt:
			labels := df.Labels
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), df.Labels)
			}
			if err := c.UpdateFirewall(ctx, id, labels); err != nil {
				return fmt.Errorf("update labels: %w", err)
			}
		case StepSetRules:
			a.op(Op{Addr: ch.Addr, Kind: OpSetRules, Rules: len(df.Rules)})
			acts, err := c.SetFirewallRules(ctx, id, df.Rules)
			if err != nil {
				return fmt.Errorf("set rules: %w", err)
			}
			pending = acts
		case StepApplyToResources:
			add, _ := setDiff(stringSlice(ch.Before["apply_to"]), stringSlice(ch.After["apply_to"]))
			acts, err := c.ApplyFirewall(ctx, id, add)
			if err != nil {
				return fmt.Errorf("apply to %s: %w", strings.Join(add, ", "), err)
			}
			pending = acts
		case StepRemoveResources:
			_, remove := setDiff(stringSlice(ch.Before["apply_to"]), stringSlice(ch.After["apply_to"]))
			acts, err := c.RemoveFirewall(ctx, id, remove)
			if err != nil && !hcloudIsNotApplied(err) {
				return fmt.Errorf("remove from %s: %w", strings.Join(remove, ", "), err)
			}
			pending = acts
		}
	}
	a.waitLater(ch.Addr, pending)
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// adoptFirewall resolves a 409 uniqueness_error on create like
// adoptSSHKey, then sets the rules and selectors fleet.yaml asks for: the
// killed apply's create may have been the one before the spec changed.
func (a *applier) adoptFirewall(ctx context.Context, df DesiredFirewall) (Firewall, []CloudAction, error) {
	c := a.opts.Cloud
	fw, err := c.FindFirewall(ctx, df.Name)
	if err != nil {
		return Firewall{}, nil, err
	}
	if fw == nil || fw.Labels[spec.LabelFleet] != a.opts.Desired.Fleet {
		return Firewall{}, nil, fmt.Errorf("a firewall named %q exists without the label %s=%s (created since the plan): rerun plan", df.Name, spec.LabelFleet, a.opts.Desired.Fleet)
	}
	if !maps.Equal(fw.Labels, df.Labels) {
		if err := c.UpdateFirewall(ctx, fw.ID, df.Labels); err != nil {
			return Firewall{}, nil, err
		}
	}
	acts, err := c.SetFirewallRules(ctx, fw.ID, df.Rules)
	if err != nil {
		return Firewall{}, nil, err
	}
	if add, _ := setDiff(fw.ApplyTo, df.ApplyTo); len(add) > 0 {
		more, err := c.ApplyFirewall(ctx, fw.ID, add)
		if err != nil {
			return Firewall{}, nil, err
		}
		acts = append(acts, more...)
	}
	return *fw, acts, nil
}

// deleteFirewallChange prunes a firewall that left fleet.yaml.
func (a *applier) deleteFirewallChange(ctx context.Context, ch Change) error {
	a.op(Op{Addr: ch.Addr, Kind: OpDelete, ID: ch.ID})
	detached, err := a.deleteFirewall(ctx, Firewall{ID: ch.ID, Name: ch.Addr.Name(), ApplyTo: stringSlice(ch.Before["apply_to"])})
	if err != nil {
		return err
	}
	a.record(ch.Addr, destroyedVerb(detached))
	return nil
}

// deleteFirewall deletes one of the fleet's firewalls, first detaching it
// from whatever it applies to: Hetzner refuses to delete a firewall still
// applied (422 resource_in_use), and someone may have applied the fleet's
// firewall to an outside server by hand (hcloud firewall apply-to-resource
// --type server). Only the firewall is changed, never the servers. What fw
// says it applies to is detached first; when Hetzner still answers
// resource_in_use (a plan's snapshot, or a firewall applied since it was
// listed), the firewall is read again and the rest detached. It returns the
// servers it was detached from, as "server NAME (id N)".
func (a *applier) deleteFirewall(ctx context.Context, fw Firewall) ([]string, error) {
	c := a.opts.Cloud
	var detached []string
	for attempt := 0; ; attempt++ {
		names, err := a.detachFirewall(ctx, fw)
		detached = append(detached, names...)
		if err != nil {
			return detached, err
		}
		err = c.DeleteFirewall(ctx, fw.ID)
		if err == nil || IsNotFound(err) {
			return detached, nil
		}
		if !hcloud.IsError(err, hcloud.ErrorCodeResourceInUse) || attempt == 2 {
			return detached, fmt.Errorf("delete: %w", err)
		}
		fresh, ferr := c.FindFirewall(ctx, fw.Name)
		if ferr != nil {
			return detached, fmt.Errorf("delete: %w (and reading what it still applies to: %w)", err, ferr)
		}
		if fresh == nil || fresh.ID != fw.ID {
			return detached, fmt.Errorf("delete: %w (and no firewall %q with id %d to read what it still applies to)", err, fw.Name, fw.ID)
		}
		fw = *fresh
	}
}

// detachFirewall removes fw from its label selectors and from the servers
// it is applied to directly, waiting for Hetzner's actions. Servers that no
// longer exist are skipped: Hetzner detaches a deleted server itself.
func (a *applier) detachFirewall(ctx context.Context, fw Firewall) ([]string, error) {
	c := a.opts.Cloud
	addr := NewAddr(KindFirewall, fw.Name)
	if len(fw.ApplyTo) > 0 {
		a.op(Op{Addr: addr, Kind: OpDetach, ID: fw.ID, From: "label selector " + strings.Join(fw.ApplyTo, ", ")})
		acts, err := c.RemoveFirewall(ctx, fw.ID, fw.ApplyTo)
		if err == nil {
			err = a.wait(ctx, acts...)
		}
		if err != nil && !IsNotFound(err) && !isNotApplied(err) {
			return nil, fmt.Errorf("remove from label selector %s: %w", strings.Join(fw.ApplyTo, ", "), err)
		}
	}
	var names []string
	var servers []int64
	for _, id := range slices.Compact(slices.Sorted(slices.Values(fw.Servers))) {
		s, err := c.GetServer(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read server %d it is applied to: %w", id, err)
		}
		if s == nil {
			continue
		}
		servers = append(servers, id)
		names = append(names, fmt.Sprintf("server %s (id %d)", s.Name, s.ID))
	}
	if len(servers) == 0 {
		return nil, nil
	}
	for _, n := range names {
		a.op(Op{Addr: addr, Kind: OpDetach, ID: fw.ID, From: n})
	}
	acts, err := c.RemoveFirewallFromServers(ctx, fw.ID, servers)
	if err == nil {
		err = a.wait(ctx, acts...)
	}
	if err != nil && !isNotApplied(err) {
		return nil, fmt.Errorf("detach from %s: %w", strings.Join(names, ", "), err)
	}
	return names, nil
}

// isNotApplied reports that a removal found the firewall not applied (any
// more) or the resource gone, which is what a removal wants.
func isNotApplied(err error) bool {
	return hcloud.IsError(err, hcloud.ErrorCodeFirewallResourceNotFound, hcloud.ErrorCodeFirewallAlreadyRemoved) || hcloudIsNotApplied(err)
}

// destroyedVerb is the result of a firewall's deletion, naming the servers
// it had to be detached from.
func destroyedVerb(detached []string) string {
	if len(detached) == 0 {
		return "destroyed"
	}
	return "destroyed (detached from " + strings.Join(detached, ", ") + ")"
}

// hcloudIsNotApplied reports Hetzner's firewall_resource_not_found: the
// selector was not applied (anymore), which is what a removal wants.
func hcloudIsNotApplied(err error) bool {
	return IsNotApplied(err)
}

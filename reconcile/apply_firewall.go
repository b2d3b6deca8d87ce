package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// Firewalls: rules set as a whole, label selectors added and removed, all in
// place; pruned after being removed from the selectors they apply to.

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
	if err := a.deleteFirewall(ctx, ch.ID, stringSlice(ch.Before["apply_to"])); err != nil {
		return err
	}
	a.record(ch.Addr, "destroyed")
	return nil
}

// deleteFirewall removes a firewall from the label selectors it applies to
// (Hetzner refuses to delete a firewall in use), then deletes it. Apply's
// prune and Destroy share it.
func (a *applier) deleteFirewall(ctx context.Context, id int64, applyTo []string) error {
	c := a.opts.Cloud
	if len(applyTo) > 0 {
		acts, err := c.RemoveFirewall(ctx, id, applyTo)
		if err == nil {
			err = a.wait(ctx, acts...)
		}
		if err != nil && !IsNotFound(err) && !hcloudIsNotApplied(err) {
			return fmt.Errorf("remove from resources: %w", err)
		}
	}
	if err := c.DeleteFirewall(ctx, id); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// hcloudIsNotApplied reports Hetzner's firewall_resource_not_found: the
// selector was not applied (anymore), which is what a removal wants.
func hcloudIsNotApplied(err error) bool {
	return err != nil && strings.Contains(err.Error(), "firewall_resource_not_found")
}

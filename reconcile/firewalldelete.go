package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

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
		a.progressf("%s: Detaching firewall %s from label selector %s", addr, fw.Name, strings.Join(fw.ApplyTo, ", "))
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
		a.progressf("%s: Detaching firewall %s from %s", addr, fw.Name, n)
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

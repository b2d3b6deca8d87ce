package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/fleetctl/fleetctl/spec"
)

// Destroy removes everything that carries the fleet's label: the manager,
// the plugin's autoscaled instances, the firewalls (first detached from the
// label selectors and the servers they apply to, see deleteFirewall) and
// the SSH keys, the plugin's included.
// For runners that use the upstream plugin it also removes that plugin's
// servers of their instance groups and its SSH key named after the group
// (see UpstreamGroup). Protection is lifted only on servers the fleet owns;
// nothing else is touched. confirm must be the fleet's name. Like Apply, it
// returns what it did, also when it fails half-way, and reports to hooks
// (nil ignores the events) while it works.
//
// The servers go first. A plugin still running on the manager may create
// an instance while they do, so once the first round is gone, the servers
// are listed once more and what appeared meanwhile is removed too.
func Destroy(ctx context.Context, c Cloud, f *spec.Fleet, confirm string, hooks Hooks) ([]Result, error) {
	fleet := f.Name
	if confirm != fleet {
		return nil, fmt.Errorf("destroy removes every resource of fleet %q: pass --confirm %s to confirm (nothing was changed)", fleet, fleet)
	}
	if hooks == nil {
		hooks = NoHooks{}
	}
	groups := UpstreamGroups(f)
	sel := spec.LabelFleet + "=" + fleet
	var (
		wg                      sync.WaitGroup
		keys, upstreamKeys      []SSHKey
		fws                     []Firewall
		srvs                    []Server
		errK, errUK, errF, errS error
	)
	wg.Add(3)
	go func() { defer wg.Done(); keys, errK = c.ListSSHKeys(ctx, sel) }()
	go func() { defer wg.Done(); fws, errF = c.ListFirewalls(ctx, sel) }()
	go func() { defer wg.Done(); srvs, errS = destroyableServers(ctx, c, fleet, groups) }()
	if len(groups) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); upstreamKeys, errUK = c.ListSSHKeys(ctx, UpstreamSelector) }()
	}
	wg.Wait()
	if err := errors.Join(errK, errUK, errF, errS); err != nil {
		return nil, err
	}
	keys = append(keys, upstreamSSHKeys(groups, upstreamKeys, keys)...)

	a := &applier{opts: ApplyOptions{Cloud: c, Hooks: hooks}}
	var errs []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	deleted := map[int64]bool{}
	for round := 1; len(srvs) > 0; round++ {
		sort.Slice(srvs, func(i, j int) bool { return srvs[i].Name < srvs[j].Name })
		for _, s := range srvs {
			deleted[s.ID] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				addr := NewAddr(KindServer, s.Name)
				a.op(Op{Addr: addr, Kind: OpDelete, ID: s.ID})
				if err := a.deleteServer(ctx, s.ID, deleteServerSteps(s)); err != nil {
					fail(fmt.Errorf("%s: %w", addr, err))
					return
				}
				a.record(addr, "destroyed")
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			return a.done(), errors.Join(errs...)
		}
		if round == 2 {
			break
		}
		again, err := destroyableServers(ctx, c, fleet, groups)
		if err != nil {
			return a.done(), err
		}
		srvs = srvs[:0]
		for _, s := range again {
			if !deleted[s.ID] {
				srvs = append(srvs, s)
			}
		}
	}
	for _, fw := range fws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := NewAddr(KindFirewall, fw.Name)
			a.op(Op{Addr: addr, Kind: OpDelete, ID: fw.ID})
			detached, err := a.deleteFirewall(ctx, fw)
			if err != nil {
				fail(fmt.Errorf("%s: %w", addr, err))
				return
			}
			a.record(addr, destroyedVerb(detached))
		}()
	}
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := NewAddr(KindSSHKey, k.Name)
			a.op(Op{Addr: addr, Kind: OpDelete, ID: k.ID})
			if err := c.DeleteSSHKey(ctx, k.ID); err != nil && !IsNotFound(err) {
				fail(fmt.Errorf("%s: delete: %w", addr, err))
				return
			}
			a.record(addr, "destroyed")
		}()
	}
	wg.Wait()
	res := a.done()
	sort.Slice(res, func(i, j int) bool { return addrLess(res[i].Addr, res[j].Addr) })
	return res, errors.Join(errs...)
}

// destroyableServers lists the servers Destroy removes: those with the
// fleet's label and the upstream plugin's of the given groups.
func destroyableServers(ctx context.Context, c Cloud, fleet string, groups []UpstreamGroup) ([]Server, error) {
	var (
		wg                    sync.WaitGroup
		owned, upstream       []Server
		errOwned, errUpstream error
	)
	wg.Add(1)
	go func() { defer wg.Done(); owned, errOwned = c.ListServers(ctx, spec.LabelFleet+"="+fleet) }()
	if len(groups) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); upstream, errUpstream = c.ListServers(ctx, UpstreamSelector) }()
	}
	wg.Wait()
	if err := errors.Join(errOwned, errUpstream); err != nil {
		return nil, err
	}
	return append(owned, upstreamInstances(groups, upstream, owned)...), nil
}

// upstreamSSHKeys keeps the upstream plugin's keys of the given groups that
// are not among listed already.
func upstreamSSHKeys(groups []UpstreamGroup, keys, listed []SSHKey) []SSHKey {
	seen := map[int64]bool{}
	for _, k := range listed {
		seen[k.ID] = true
	}
	var out []SSHKey
	for _, k := range keys {
		for _, g := range groups {
			if g.ownsSSHKey(k) && !seen[k.ID] {
				seen[k.ID] = true
				out = append(out, k)
			}
		}
	}
	return out
}

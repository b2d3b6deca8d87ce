package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/fleetctl/fleetctl/internal/crash"
	"github.com/fleetctl/fleetctl/spec"
)

// ConfirmDestroy checks destroy's confirmation before anything is read or
// changed: it must repeat the fleet's name.
func ConfirmDestroy(fleet, confirm string) error {
	if confirm != fleet {
		return fmt.Errorf("destroy removes every resource of fleet %q: pass --confirm %s to confirm (nothing was changed)", fleet, fleet)
	}
	return nil
}

// PlanDestroy lists what the fleet owns (ListDestroyable) and returns its
// destroy plan (DiffDestroy), with the values of secrets masked. It needs
// the Hetzner token only: no secret of fleet.yaml and no SSH access to the
// manager.
func PlanDestroy(ctx context.Context, c Cloud, f *spec.Fleet, secrets *Secrets) (*Plan, error) {
	groups := UpstreamGroups(f)
	l, err := ListDestroyable(ctx, c, f.Name, groups)
	if err != nil {
		return nil, err
	}
	return DiffDestroy(f.Name, groups, l, secrets), nil
}

// ListDestroyable makes ListOwned's lists and, when a runner uses the
// upstream plugin, one of the upstream plugin's SSH keys, all concurrently.
func ListDestroyable(ctx context.Context, c Cloud, fleet string, groups []UpstreamGroup) (*Live, error) {
	var (
		wg             sync.WaitGroup
		l              *Live
		upstreamKeys   []SSHKey
		errOwned, errK error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer crash.Recover(&errOwned)
		l, errOwned = ListOwned(ctx, c, fleet, groups)
	}()
	if len(groups) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer crash.Recover(&errK)
			upstreamKeys, errK = c.ListSSHKeys(ctx, UpstreamSelector)
		}()
	}
	wg.Wait()
	if err := errors.Join(errOwned, errK); err != nil {
		return nil, err
	}
	l.UpstreamSSHKeys = upstreamSSHKeys(groups, upstreamKeys, l.SSHKeys)
	return l, nil
}

// lateServers lists, while a destroy plan is applied, the servers it would
// plan now that it did not plan: those a plugin still running on the
// manager created since. Apply deletes them after the planned ones.
func (a *applier) lateServers(ctx context.Context) ([]Change, error) {
	planned := map[int64]bool{}
	for _, ch := range a.plan.Changes {
		if ch.Addr.Kind() == KindServer && ch.Action == Delete {
			planned[ch.ID] = true
		}
	}
	srvs, err := destroyableServers(ctx, a.opts.Cloud, a.plan.Fleet, a.plan.UpstreamGroups)
	if err != nil {
		return nil, err
	}
	var late []Change
	for _, s := range srvs {
		if !planned[s.ID] {
			ch, _ := destroyServerChange(s, a.plan.UpstreamGroups)
			late = append(late, ch)
		}
	}
	sort.Slice(late, func(i, j int) bool { return late[i].Addr < late[j].Addr })
	return late, nil
}

// destroyableServers lists the servers a destroy removes: those with the
// fleet's label and the upstream plugin's of the given groups.
func destroyableServers(ctx context.Context, c Cloud, fleet string, groups []UpstreamGroup) ([]Server, error) {
	var (
		wg                    sync.WaitGroup
		owned, upstream       []Server
		errOwned, errUpstream error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer crash.Recover(&errOwned)
		owned, errOwned = c.ListServers(ctx, spec.LabelFleet+"="+fleet)
	}()
	if len(groups) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer crash.Recover(&errUpstream)
			upstream, errUpstream = c.ListServers(ctx, UpstreamSelector)
		}()
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

package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
)

// Decrease deletes the instances concurrently and returns those whose
// deletion Hetzner accepted, or that were already gone (not_found). It does
// not wait for the deletions: Update reports them deleting, then deleted.
// Volumes are removed in the background once their servers are gone
// (Hetzner refuses to delete an attached volume).
func (g *InstanceGroup) Decrease(ctx context.Context, ids []string) ([]string, error) {
	var (
		wg        sync.WaitGroup
		sem       = make(chan struct{}, maxInFlight)
		mu        sync.Mutex
		succeeded []string
		actions   []*hcloud.Action
		errs      []error
	)
	for _, id := range ids {
		sid, err := parseInstanceID(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, fmt.Errorf("instance %s: %w", id, ctx.Err()))
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			res, err := g.deleteServer(ctx, sid)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				succeeded = append(succeeded, id)
				if res != nil && res.Action != nil {
					actions = append(actions, res.Action)
				}
			case hcloud.IsError(err, hcloud.ErrorCodeNotFound):
				g.log.Info("instance already gone", "instance", id)
				succeeded = append(succeeded, id)
			default:
				errs = append(errs, fmt.Errorf("instance %s: delete server: %w", id, err))
			}
		}()
	}
	wg.Wait()
	sort.Strings(succeeded)

	g.mu.Lock()
	for _, id := range succeeded {
		if sid, err := parseInstanceID(id); err == nil {
			g.deleting[sid] = true
		}
	}
	g.mu.Unlock()
	g.log.Info("decrease", "requested", len(ids), "deleted", len(succeeded))

	if g.cfg.volumeSize > 0 && len(succeeded) > 0 {
		g.background.Add(1)
		go func() {
			defer g.background.Done()
			ctx := g.backgroundCtx
			if len(actions) > 0 {
				if err := g.client.Action.WaitFor(ctx, actions...); err != nil {
					g.log.Warn("waiting for server deletions before removing volumes", "err", err)
				}
			}
			if err := g.sweepVolumes(ctx); err != nil {
				g.log.Error("removing volumes of deleted instances", "err", err)
			}
		}()
	}
	return succeeded, errors.Join(errs...)
}

// deleteServer deletes a server, waiting out a lock held by another action
// on it (a create still running, say) a few times before giving up.
func (g *InstanceGroup) deleteServer(ctx context.Context, id int64) (*hcloud.ServerDeleteResult, error) {
	wait := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, _, err := g.client.Server.DeleteWithResult(ctx, &hcloud.Server{ID: id})
		if err == nil || attempt == 3 || !hcloud.IsError(err, hcloud.ErrorCodeLocked) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// sweepVolumes deletes this runner's volumes that are attached to no server
// and are not being created right now: left by deleted instances, or by a
// plugin that stopped half-way through a create.
func (g *InstanceGroup) sweepVolumes(ctx context.Context) error {
	vols, err := g.client.Volume.AllWithOpts(ctx, hcloud.VolumeListOpts{
		ListOpts: hcloudclient.ListOpts(g.cfg.selector()),
	})
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	var errs []error
	for _, v := range vols {
		g.mu.Lock()
		busy := g.creating[v.Name]
		g.mu.Unlock()
		if v.Server != nil || busy || !g.cfg.ownedBy(v.Labels) {
			continue
		}
		if _, err := g.client.Volume.Delete(ctx, v); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
			errs = append(errs, fmt.Errorf("volume %s: delete: %w", v.Name, err))
			continue
		}
		g.log.Info("removed dangling volume", "volume", v.Name)
	}
	return errors.Join(errs...)
}

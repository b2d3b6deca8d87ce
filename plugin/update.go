package plugin

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
)

// Update lists the runner's instances by label selector (one request per 50)
// and reports each one's state; instances reported before that are gone
// now are reported deleted, once.
func (g *InstanceGroup) Update(ctx context.Context, fn func(id string, state provider.State)) error {
	servers, err := g.client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{
		ListOpts: hcloudclient.ListOpts(g.cfg.selector()),
	})
	if err != nil {
		return fmt.Errorf("list instances: %w", err)
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })

	now := time.Now()
	type report struct {
		id    string
		state provider.State
	}
	var reports []report
	var broken []*hcloud.Server

	g.mu.Lock()
	listed := make(map[int64]bool, len(servers))
	present := make(map[string]bool, len(servers))
	for _, s := range servers {
		listed[s.ID] = true
		id := instanceID(s)
		present[id] = true
		state, isBroken := g.stateOf(s, now)
		if isBroken {
			broken = append(broken, s)
		}
		g.known[id] = state
		reports = append(reports, report{id, state})
	}
	var vanished []string
	for id := range g.known {
		if !present[id] {
			vanished = append(vanished, id)
			delete(g.known, id)
		}
	}
	for sid := range g.seenRunning {
		if !listed[sid] {
			delete(g.seenRunning, sid)
		}
	}
	for sid := range g.deleting {
		if !listed[sid] {
			delete(g.deleting, sid)
		}
	}
	g.mu.Unlock()

	sort.Strings(vanished)
	for _, r := range reports {
		fn(r.id, r.state)
	}
	for _, id := range vanished {
		fn(id, provider.StateDeleted)
	}
	if len(broken) > 0 {
		g.removeBroken(broken)
	}
	return nil
}

// stateOf maps a server's status to fleeting's state. Hetzner passes
// through "off" while creating; a server that was seen running, or is past
// the boot grace, and is off or stopping now was powered off by someone
// else (a job running poweroff, say). Such an instance is useless and costs
// money, and fleeting would neither use nor delete it, so the plugin
// deletes it itself and reports it deleting. Called with g.mu held.
func (g *InstanceGroup) stateOf(s *hcloud.Server, now time.Time) (state provider.State, broken bool) {
	if g.deleting[s.ID] {
		return provider.StateDeleting, false
	}
	switch s.Status {
	case hcloud.ServerStatusRunning, hcloud.ServerStatusMigrating:
		// A live migration keeps the server up.
		g.seenRunning[s.ID] = true
		return provider.StateRunning, false
	case hcloud.ServerStatusInitializing, hcloud.ServerStatusStarting, hcloud.ServerStatusRebuilding:
		return provider.StateCreating, false
	case hcloud.ServerStatusDeleting:
		return provider.StateDeleting, false
	case hcloud.ServerStatusOff, hcloud.ServerStatusStopping:
		if !g.seenRunning[s.ID] && (s.Created.IsZero() || now.Sub(s.Created) < bootGrace) {
			return provider.StateCreating, false
		}
		g.deleting[s.ID] = true
		return provider.StateDeleting, true
	}
	// unknown: keep what was reported before, else still creating.
	if st, ok := g.known[instanceID(s)]; ok {
		return st, false
	}
	return provider.StateCreating, false
}

// removeBroken deletes instances that were powered off behind the plugin's
// back; see stateOf.
func (g *InstanceGroup) removeBroken(servers []*hcloud.Server) {
	ids := make([]string, len(servers))
	for i, s := range servers {
		ids[i] = instanceID(s)
		g.log.Warn("instance is powered off; deleting it", "instance", ids[i], "status", string(s.Status))
	}
	g.background.Add(1)
	go func() {
		defer g.background.Done()
		deleted, err := g.Decrease(g.backgroundCtx, ids)
		if err != nil {
			g.log.Error("deleting powered-off instances", "err", err)
		}
		// What could not be deleted is tried again at the next Update.
		g.mu.Lock()
		defer g.mu.Unlock()
		done := map[string]bool{}
		for _, id := range deleted {
			done[id] = true
		}
		for i, id := range ids {
			if !done[id] {
				delete(g.deleting, servers[i].ID)
			}
		}
	}()
}

package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/hetznercloud/hcloud-go/v2/hcloud/exp/actionutil"
)

// errLimitReached stops the remaining creates of an Increase: the project is
// at its server (or volume) limit, and every further create would fail too.
var errLimitReached = errors.New("project resource limit reached")

// Increase requests n servers concurrently (at most maxInFlight requests in
// flight) and returns how many Hetzner accepted. It does not wait for the
// servers to boot: Update reports them creating, then running. Whatever a
// failed create left behind (a volume without its server) is removed before
// Increase returns.
func (g *InstanceGroup) Increase(ctx context.Context, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	g.mu.Lock()
	until := g.increaseBackoffUntil
	g.mu.Unlock()
	if wait := time.Until(until); wait > 0 {
		return 0, fmt.Errorf("increase: backing off for %s after resource_limit_exceeded", wait.Round(time.Second))
	}

	var (
		wg        sync.WaitGroup
		sem       = make(chan struct{}, maxInFlight)
		mu        sync.Mutex
		succeeded int
		errs      []error
		limitHit  bool
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, ctx.Err())
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			mu.Lock()
			stop := limitHit
			mu.Unlock()
			if stop {
				return
			}
			err := g.createInstance(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				succeeded++
				return
			}
			if errors.Is(err, errLimitReached) {
				if limitHit {
					return
				}
				limitHit = true
			}
			errs = append(errs, err)
		}()
	}
	wg.Wait()

	g.mu.Lock()
	if limitHit {
		g.increaseBackoff = min(max(2*g.increaseBackoff, firstLimitBackoff), maxLimitBackoff)
		g.increaseBackoffUntil = time.Now().Add(g.increaseBackoff)
		g.log.Warn("project resource limit reached; holding increases back", "for", g.increaseBackoff.String(), "created", succeeded, "requested", n)
	} else if succeeded > 0 {
		g.increaseBackoff = 0
	}
	g.mu.Unlock()
	g.log.Info("increase", "requested", n, "created", succeeded, "failed", n-succeeded)
	return succeeded, errors.Join(dedupe(errs)...)
}

// dedupe keeps the first of errors that read the same, so that 50 identical
// failures make one line.
func dedupe(errs []error) []error {
	seen := map[string]int{}
	var out []error
	for _, e := range errs {
		msg := e.Error()
		if _, ok := seen[msg]; ok {
			seen[msg]++
			continue
		}
		seen[msg] = 1
		out = append(out, e)
	}
	for i, e := range out {
		if c := seen[e.Error()]; c > 1 {
			out[i] = fmt.Errorf("%w (%d times)", e, c)
		}
	}
	return out
}

// newInstanceName is "<instances.name>-<8 hex digits>".
func (g *InstanceGroup) newInstanceName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return g.cfg.name + "-" + hex.EncodeToString(b)
}

// createInstance creates one instance: its volume first when volume_size is
// set (waiting for it, since the server is created with it attached), then
// the server, falling back through the server types on resource_unavailable
// and placement_error. On failure nothing it made is left behind.
func (g *InstanceGroup) createInstance(ctx context.Context) error {
	name := g.newInstanceName()
	g.mu.Lock()
	g.creating[name] = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.creating, name)
		g.mu.Unlock()
	}()

	var volume *hcloud.Volume
	if g.cfg.volumeSize > 0 {
		res, _, err := g.client.Volume.Create(ctx, hcloud.VolumeCreateOpts{
			Name: name, Size: g.cfg.volumeSize, Location: g.location, Labels: g.cfg.labels,
		})
		if err != nil {
			return classify(fmt.Errorf("instance %s: create volume: %w", name, err))
		}
		volume = res.Volume
		if err := g.client.Action.WaitFor(ctx, actionutil.AppendNext(res.Action, res.NextActions)...); err != nil {
			g.removeVolume(ctx, volume)
			return fmt.Errorf("instance %s: create volume: %w", name, err)
		}
	}

	err := g.createServer(ctx, name, volume)
	if err != nil && volume != nil {
		g.removeVolume(ctx, volume)
	}
	return err
}

func classify(err error) error {
	if hcloud.IsError(err, hcloud.ErrorCodeResourceLimitExceeded) {
		return fmt.Errorf("%w: %w", errLimitReached, err)
	}
	return err
}

// createServer tries the server types in order, those that recently
// answered resource_unavailable last.
func (g *InstanceGroup) createServer(ctx context.Context, name string, volume *hcloud.Volume) error {
	opts := hcloud.ServerCreateOpts{
		Name:     name,
		Image:    g.image,
		Location: g.location,
		UserData: g.cfg.userData,
		Labels:   g.cfg.labels,
		Networks: g.networks,
		PublicNet: &hcloud.ServerCreatePublicNet{
			EnableIPv4: g.cfg.enableIPv4,
			EnableIPv6: g.cfg.enableIPv6,
		},
	}
	if g.sshKey != nil {
		opts.SSHKeys = []*hcloud.SSHKey{g.sshKey}
	}
	if volume != nil {
		opts.Volumes = []*hcloud.Volume{volume}
	}

	var failures []error
	for _, st := range g.typeOrder() {
		opts.ServerType = st
		_, _, err := g.client.Server.Create(ctx, opts)
		if err == nil {
			return nil
		}
		switch {
		case hcloud.IsError(err, hcloud.ErrorCodeUniquenessError):
			// hcloud-go retries a create after a gateway error; the first
			// attempt may have made the server. Ours if it has our labels.
			if s, _, gerr := g.client.Server.GetByName(context.WithoutCancel(ctx), name); gerr == nil && s != nil && g.cfg.ownedBy(s.Labels) {
				return nil
			}
		case hcloud.IsError(err, hcloud.ErrorCodeResourceUnavailable, hcloud.ErrorCodePlacementError):
			g.markUnavailable(st.Name)
			g.log.Warn("server type unavailable, trying the next", "server_type", st.Name, "err", err)
			failures = append(failures, fmt.Errorf("%s: %w", st.Name, err))
			continue
		case ctx.Err() == nil && isAmbiguous(err):
			// The request may have been carried out although the answer
			// was lost: look for the server by its unique name.
			if s, _, gerr := g.client.Server.GetByName(context.WithoutCancel(ctx), name); gerr == nil && s != nil {
				g.log.Warn("server create answered with an error but the server exists", "name", name, "err", err)
				return nil
			}
		}
		return classify(fmt.Errorf("instance %s: create server (%s): %w", name, st.Name, err))
	}
	return fmt.Errorf("instance %s: no server type available: %w", name, errors.Join(failures...))
}

// isAmbiguous reports whether a failed create may nevertheless have
// happened: the connection broke or the API answered with a gateway error.
func isAmbiguous(err error) bool {
	var apiErr hcloud.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case hcloud.ErrorCodeTimeout, hcloud.ErrorCodeBadGateway, hcloud.ErrorCodeServerError, hcloud.ErrorCodeServiceError, hcloud.ErrorCodeUnknownError:
			return true
		}
		return false
	}
	return true
}

// typeOrder is the configured fallback order, with the types that were
// unavailable within typeUnavailableFor moved to the end (still tried:
// availability changes).
func (g *InstanceGroup) typeOrder() []*hcloud.ServerType {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	var first, last []*hcloud.ServerType
	for _, st := range g.serverTypes {
		if now.Before(g.typeUnavailableUntil[st.Name]) {
			last = append(last, st)
		} else {
			first = append(first, st)
		}
	}
	return append(first, last...)
}

func (g *InstanceGroup) markUnavailable(name string) {
	g.mu.Lock()
	g.typeUnavailableUntil[name] = time.Now().Add(typeUnavailableFor)
	g.mu.Unlock()
}

// removeVolume deletes a volume a failed create left behind. It outlives
// the caller's context, which may be what failed.
func (g *InstanceGroup) removeVolume(ctx context.Context, v *hcloud.Volume) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := g.client.Volume.Delete(ctx, v); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
		g.log.Error("removing volume of a failed instance", "volume", v.Name, "err", err)
		return
	}
	g.log.Info("removed volume of a failed instance", "volume", v.Name)
}

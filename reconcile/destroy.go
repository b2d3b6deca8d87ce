package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/fleetctl/fleetctl/spec"
)

// Destroy removes everything that carries the fleet's label: the manager,
// the plugin's autoscaled instances, the firewalls (first removed from the
// label selectors they apply to) and the SSH keys, the plugin's included.
// Protection is lifted only on servers the fleet owns; nothing without the
// label is touched. confirm must be the fleet's name. Like Apply, it returns
// what it did, also when it fails half-way.
func Destroy(ctx context.Context, c Cloud, fleet, confirm string, progress io.Writer) ([]Result, error) {
	if confirm != fleet {
		return nil, fmt.Errorf("destroy removes every resource of fleet %q: pass --confirm %s to confirm (nothing was changed)", fleet, fleet)
	}
	if progress == nil {
		progress = io.Discard
	}
	sel := spec.LabelFleet + "=" + fleet
	var (
		wg               sync.WaitGroup
		keys             []SSHKey
		fws              []Firewall
		srvs             []Server
		errK, errF, errS error
	)
	wg.Add(3)
	go func() { defer wg.Done(); keys, errK = c.ListSSHKeys(ctx, sel) }()
	go func() { defer wg.Done(); fws, errF = c.ListFirewalls(ctx, sel) }()
	go func() { defer wg.Done(); srvs, errS = c.ListServers(ctx, sel) }()
	wg.Wait()
	if err := errors.Join(errK, errF, errS); err != nil {
		return nil, err
	}
	a := &applier{opts: ApplyOptions{Cloud: c, Progress: progress}}
	var errs []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	sort.Slice(srvs, func(i, j int) bool { return srvs[i].Name < srvs[j].Name })
	for _, s := range srvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := NewAddr(KindServer, s.Name)
			a.progressf("%s: Destroying... [id=%d]", addr, s.ID)
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
	for _, f := range fws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := NewAddr(KindFirewall, f.Name)
			a.progressf("%s: Destroying... [id=%d]", addr, f.ID)
			if err := a.deleteFirewall(ctx, f.ID, f.ApplyTo); err != nil {
				fail(fmt.Errorf("%s: %w", addr, err))
				return
			}
			a.record(addr, "destroyed")
		}()
	}
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := NewAddr(KindSSHKey, k.Name)
			a.progressf("%s: Destroying... [id=%d]", addr, k.ID)
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

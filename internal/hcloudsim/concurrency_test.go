package hcloudsim

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// TestConcurrentClients runs clients that create, relabel, list and delete
// servers at once while a firewall follows them by label selector.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	if _, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw",
		ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector, LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "fw"}}}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for c := range 6 {
		wg.Go(func() {
			client := newClient(env.srv.URL, "t")
			for i := range 4 {
				res, _, err := client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("c%d-s%d", c, i),
					ServerType: &hcloud.ServerType{Name: "cx23"}, Image: &hcloud.Image{Name: "debian-12"}, Labels: map[string]string{"client": fmt.Sprint(c)}})
				if err != nil {
					errs <- err
					return
				}
				if err := client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...); err != nil {
					errs <- err
					return
				}
				if _, _, err := client.Server.Update(ctx, res.Server, hcloud.ServerUpdateOpts{Labels: map[string]string{"client": fmt.Sprint(c), "fw": ""}}); err != nil {
					errs <- err
					return
				}
				if _, err := client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "fw"}}); err != nil {
					errs <- err
					return
				}
				if _, err := client.Firewall.All(ctx); err != nil {
					errs <- err
					return
				}
				if i%2 == 1 {
					if _, _, err := client.Server.DeleteWithResult(ctx, res.Server); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	fw, _, err := env.client.Firewall.GetByName(ctx, "fw")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fw.AppliedTo[0].AppliedToResources); n != 12 {
		t.Errorf("firewall applies to %d servers, want the 12 left", n)
	}
}

package reconcile_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

// TestLostRoleLabelRestored: the fleet's SSH key, firewall or manager whose
// role label was removed by hand (the fleet label kept) is what it is: the
// plan updates it in place to restore its labels, apply reports it updated
// (never created), its ID stays, and the next plan is clean. The manager is
// not mistaken for a plugin instance meanwhile.
func TestLostRoleLabelRestored(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	without := func(labels map[string]string) map[string]string {
		out := maps.Clone(labels)
		delete(out, spec.LabelRole)
		return out
	}
	for _, tc := range []struct {
		addr  reconcile.Addr
		strip func(ctx context.Context, c *hcloud.Client) (int64, error)
	}{
		{"hcloud_ssh_key.dev", func(ctx context.Context, c *hcloud.Client) (int64, error) {
			k, _, err := c.SSHKey.GetByName(ctx, "dev")
			if err == nil {
				_, _, err = c.SSHKey.Update(ctx, k, hcloud.SSHKeyUpdateOpts{Labels: without(k.Labels)})
			}
			return k.ID, err
		}},
		{"hcloud_firewall.runner", func(ctx context.Context, c *hcloud.Client) (int64, error) {
			f, _, err := c.Firewall.GetByName(ctx, "runner")
			if err == nil {
				_, _, err = c.Firewall.Update(ctx, f, hcloud.FirewallUpdateOpts{Labels: without(f.Labels)})
			}
			return f.ID, err
		}},
		{"hcloud_server.runner-manager", func(ctx context.Context, c *hcloud.Client) (int64, error) {
			s, _, err := c.Server.GetByName(ctx, "runner-manager")
			if err == nil {
				_, _, err = c.Server.Update(ctx, s, hcloud.ServerUpdateOpts{Labels: without(s.Labels)})
			}
			return s.ID, err
		}},
	} {
		t.Run(string(tc.addr), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, hcloudsim.Options{})
			e.mustApply()
			ctx := context.Background()
			id, err := tc.strip(ctx, e.client)
			if err != nil {
				t.Fatal(err)
			}

			p := e.plan(false)
			mustEqual(t, "plan", []string{string(tc.addr) + " update"}, changed(p))
			ch := p.Change(tc.addr)
			if ch.ID != id || !strings.Contains(ch.Reason, "labels changed outside fleetctl") {
				t.Errorf("change id %d reason %q, want id %d and a reason saying the labels are restored", ch.ID, ch.Reason, id)
			}
			if len(p.Instances) != 0 {
				t.Errorf("instances %+v, want none", p.Instances)
			}
			if text := planText(t, p); !containsWords(text, `+ "`+spec.LabelRole+`"`) || !strings.Contains(text, "Plan: 0 to add, 1 to change, 0 to destroy.") {
				t.Errorf("plan does not show the label restored in place:\n%s", text)
			}

			res, err := e.apply(false)
			if err != nil {
				t.Fatalf("apply: %v\nprogress:\n%s", err, e.progress.String())
			}
			var got []string
			for _, r := range res {
				got = append(got, r.String())
			}
			mustEqual(t, "apply results", []string{string(tc.addr) + " updated"}, got)
			if p := e.plan(false); p.HasChanges() || p.Change(tc.addr).ID != id {
				t.Errorf("not converged on the same resource (id %d):\n%s", id, planText(t, p))
			}
		})
	}
}

package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
)

// watchingCloud records which servers apply deletes and can stop apply at
// a point between a replace's steps, as a killed process would: it cancels
// apply's context and fails the call.
type watchingCloud struct {
	reconcile.Cloud
	cancel context.CancelFunc
	// killAfterCreate stops apply once the replacement is created;
	// killBeforeDelete, when a server is about to be deleted;
	// killAfterDelete, once one is.
	killAfterCreate, killBeforeDelete, killAfterDelete bool
	// beforeDelete runs before a server is deleted.
	beforeDelete func(id int64)

	mu      sync.Mutex
	deleted []int64
}

var errKilled = errors.New("killed")

func (c *watchingCloud) CreateServer(ctx context.Context, o reconcile.ServerCreate) (reconcile.Server, []reconcile.CloudAction, error) {
	srv, acts, err := c.Cloud.CreateServer(ctx, o)
	if err == nil && c.killAfterCreate {
		c.cancel()
		return srv, acts, errKilled
	}
	return srv, acts, err
}

func (c *watchingCloud) DeleteServer(ctx context.Context, id int64) (reconcile.CloudAction, error) {
	if c.beforeDelete != nil {
		c.beforeDelete(id)
	}
	if c.killBeforeDelete {
		c.cancel()
		return reconcile.CloudAction{}, errKilled
	}
	c.mu.Lock()
	c.deleted = append(c.deleted, id)
	c.mu.Unlock()
	act, err := c.Cloud.DeleteServer(ctx, id)
	if err == nil && c.killAfterDelete {
		err = c.Cloud.WaitFor(ctx, func(reconcile.CloudAction) {}, act)
		c.cancel()
		return act, errors.Join(errKilled, err)
	}
	return act, err
}

func (c *watchingCloud) deletedIDs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deleted)
}

// applyWatched plans and applies with --allow-destroy through a
// watchingCloud set up by setup.
func (e *env) applyWatched(setup func(*watchingCloud)) (*reconcile.Plan, *watchingCloud, error) {
	e.t.Helper()
	s := e.session()
	p, err := s.Plan(context.Background(), false)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &watchingCloud{Cloud: s.Cloud, cancel: cancel}
	if setup != nil {
		setup(w)
	}
	s.Cloud = w
	_, err = s.Apply(ctx, p, true)
	return p, w, err
}

// managers returns the project's servers by name.
func (e *env) servers() map[string]*hcloud.Server {
	e.t.Helper()
	all, err := e.client.Server.All(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*hcloud.Server{}
	for _, s := range all {
		out[s.Name] = s
	}
	return out
}

// checkReplaced checks what a finished replace of the manager oldID leaves:
// exactly one server, the new manager under the final name, on the new
// image, with its protection, without the replace label, its files in
// place, and nothing left to do.
func (e *env) checkReplaced(t *testing.T, oldID int64) {
	t.Helper()
	srvs := e.servers()
	s := srvs["runner-manager"]
	if len(srvs) != 1 || s == nil {
		t.Fatalf("servers after the replace: %v, want runner-manager alone", slices.Sorted(func(yield func(string) bool) {
			for n := range srvs {
				if !yield(n) {
					return
				}
			}
		}))
	}
	if s.ID == oldID || s.Image.Name != "debian-13" || !s.Protection.Delete || !s.Protection.Rebuild {
		t.Errorf("manager after the replace: id %d (old %d), image %s, protection %+v", s.ID, oldID, s.Image.Name, s.Protection)
	}
	if _, ok := s.Labels[reconcile.LabelReplaces]; ok {
		t.Errorf("the manager still carries %s: %v", reconcile.LabelReplaces, s.Labels)
	}
	if cfg := string(e.managerFile("etc/gitlab-runner/config.toml")); !strings.Contains(cfg, secretRunnerToken) {
		t.Errorf("config.toml on the new manager lacks the runner token:\n%s", cfg)
	}
	if p := e.plan(false); p.HasChanges() || len(p.Errors) > 0 {
		t.Fatalf("still changes after the replace:\n%s", planText(t, p))
	}
}

// replaceSetup applies a fleet, then asks for a replacement of its manager
// (a new image) created before the old one is destroyed. It returns the
// old manager's ID.
func replaceSetup(t *testing.T, e *env) int64 {
	t.Helper()
	e.mustApply()
	old, _, err := e.client.Server.GetByName(context.Background(), "runner-manager")
	if err != nil || old == nil {
		t.Fatalf("manager: %v", err)
	}
	e.writeFleet(map[string]string{"image": "debian-13", "manager_extra": "  create_before_destroy: true\n"})
	return old.ID
}

// TestCreateBeforeDestroyReplacesTheManager: the new manager is created
// under its temporary name and has its files before the old one, and only
// the old one, is deleted; then it takes the final name.
func TestCreateBeforeDestroyReplacesTheManager(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	oldID := replaceSetup(t, e)

	p := e.plan(false)
	ch := p.Change("hcloud_server.runner-manager")
	if ch == nil || ch.Action != reconcile.CreateThenDelete || ch.TemporaryName != "runner-manager-next" ||
		ch.Deposed == nil || ch.Deposed.ID != oldID {
		t.Fatalf("plan:\n%s", planText(t, p))
	}
	text := planText(t, p)
	for _, want := range []string{"+/- create replacement and then destroy", `created as "runner-manager-next"`} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	var filesBeforeDelete bool
	var serversAtDelete []string
	_, w, err := e.applyWatched(func(w *watchingCloud) {
		w.beforeDelete = func(int64) {
			_, err := os.Stat(filepath.Join(e.stateDir, "servers", "runner-manager-next", "etc", "gitlab-runner", "config.toml"))
			filesBeforeDelete = err == nil
			for n := range e.servers() {
				serversAtDelete = append(serversAtDelete, n)
			}
			slices.Sort(serversAtDelete)
		}
	})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, e.progress.String())
	}
	if got := w.deletedIDs(); !slices.Equal(got, []int64{oldID}) {
		t.Errorf("apply deleted servers %v, want only the old manager %d", got, oldID)
	}
	if !filesBeforeDelete {
		t.Error("the old manager was deleted before the new one had its config.toml")
	}
	if !slices.Equal(serversAtDelete, []string{"runner-manager", "runner-manager-next"}) {
		t.Errorf("servers when the old manager was deleted: %v", serversAtDelete)
	}
	e.checkReplaced(t, oldID)
}

// TestCreateBeforeDestroySurvivesKill stops apply between the steps of a
// create-before-destroy: the next plan finishes the replacement in
// progress (it neither prunes it nor makes another), and one manager is
// left under the final name.
func TestCreateBeforeDestroySurvivesKill(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*watchingCloud)
		// wantSteps are the manager's steps in the plan after the kill.
		wantSteps string
	}{
		{name: "after the create", setup: func(w *watchingCloud) { w.killAfterCreate = true },
			wantSteps: "create-then-delete change_protection,disable_protection,delete,update"},
		{name: "between files and delete", setup: func(w *watchingCloud) { w.killBeforeDelete = true },
			wantSteps: "create-then-delete delete,update"}, // its protection was lifted
		{name: "between delete and rename", setup: func(w *watchingCloud) { w.killAfterDelete = true },
			wantSteps: "update update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, hcloudsim.Options{})
			oldID := replaceSetup(t, e)
			if _, _, err := e.applyWatched(tt.setup); err == nil {
				t.Fatal("the killed apply succeeded")
			}
			p := e.plan(false)
			if len(p.Errors) > 0 {
				t.Fatalf("plan after the kill:\n%s", planText(t, p))
			}
			for _, ch := range p.Changes {
				if ch.Addr.Kind() == reconcile.KindServer && ch.Addr != "hcloud_server.runner-manager" {
					t.Errorf("plan after the kill acts on %s:\n%s", ch.Addr, planText(t, p))
				}
			}
			ch := p.Change("hcloud_server.runner-manager")
			got := ch.Action.String() + " "
			for i, s := range ch.Steps {
				if i > 0 {
					got += ","
				}
				got += string(s)
			}
			if got != tt.wantSteps {
				t.Errorf("manager after the kill: %q, want %q\n%s", got, tt.wantSteps, planText(t, p))
			}
			_, w, err := e.applyWatched(nil)
			if err != nil {
				t.Fatalf("apply after the kill: %v\n%s", err, e.progress.String())
			}
			if d := w.deletedIDs(); len(d) > 1 || len(d) == 1 && d[0] != oldID {
				t.Errorf("apply after the kill deleted %v; only the old manager %d may be", d, oldID)
			}
			e.checkReplaced(t, oldID)
		})
	}
}

// TestDeleteThenCreateDeletesOnlyTheOld: the default order deletes the old
// manager, then creates the new one, and deletes nothing else.
func TestDeleteThenCreateDeletesOnlyTheOld(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	old, _, err := e.client.Server.GetByName(context.Background(), "runner-manager")
	if err != nil || old == nil {
		t.Fatalf("manager: %v", err)
	}
	e.writeFleet(map[string]string{"image": "debian-13"})
	p, w, err := e.applyWatched(nil)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, e.progress.String())
	}
	if ch := p.Change("hcloud_server.runner-manager"); ch.Action != reconcile.DeleteThenCreate {
		t.Fatalf("plan:\n%s", planText(t, p))
	}
	if got := w.deletedIDs(); !slices.Equal(got, []int64{old.ID}) {
		t.Errorf("apply deleted servers %v, want only the old manager %d", got, old.ID)
	}
	e.checkReplaced(t, old.ID)
}

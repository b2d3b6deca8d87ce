package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/fleetctl/fleetctl/spec"
)

// The manager server: created with a generated SSH host key and Hetzner's
// protection, renamed, relabelled and resized in place, replaced when
// image, location, SSH keys or cloud-init change. It is the one server
// Apply acts on; the plugin's instances are never touched.

// applyServer converges the manager. A CreateThenDelete runs here only up
// to the deposed manager's steps: the old manager keeps serving while the
// new one is created and, in the next phase, gets its files; finishServer
// does the rest in the delete pass.
func (a *applier) applyServer(ctx context.Context, ch Change) error {
	steps := ch.Steps
	if ch.Action == CreateThenDelete {
		steps = steps[:firstDeposedStep(steps)]
	}
	srv := &Server{ID: ch.ID, Name: a.opts.Desired.Manager.Name, IPv4: str(ch.Before["ipv4"]), Labels: map[string]string{LabelSSHHostKey: str(ch.Before["ssh_host_key"])}}
	switch {
	case ch.resumesReplace():
		srv.Name = ch.TemporaryName
	case ch.Action.IsReplace():
		// Before and ID are the deposed manager's: the new one is what
		// the create step returns.
		srv = &Server{}
	}
	srv, err := a.serverSteps(ctx, ch, srv, steps)
	if err != nil {
		return err
	}
	if slices.Contains(steps, StepChangeType) || slices.Contains(steps, StepPoweron) {
		// A powered-off server's primary IP may have been unassigned and
		// another assigned since: reach it where it runs now.
		cur, err := a.opts.Cloud.GetServer(ctx, srv.ID)
		if err != nil {
			return wrapErr("read after power on", err)
		}
		if cur != nil && cur.IPv4 != "" {
			srv.IPv4 = cur.IPv4
		}
	}
	a.mu.Lock()
	a.manager = srv
	a.mu.Unlock()
	if ch.Action != CreateThenDelete {
		a.record(ch.Addr, verbFor(ch))
	}
	return nil
}

// finishServer ends a CreateThenDelete once the new manager has its files:
// it deletes the deposed manager, then gives the new one the final name.
// The new manager is the one the server phase created or found; the
// deposed one is known only by the plan's Deposed ID, and never both.
func (a *applier) finishServer(ctx context.Context, ch Change) error {
	a.mu.Lock()
	srv := a.manager
	a.mu.Unlock()
	if srv == nil || srv.ID == 0 || srv.ID == ch.deposedID() {
		return fmt.Errorf("the replacement of server %d is unknown: nothing deleted", ch.deposedID())
	}
	if _, err := a.serverSteps(ctx, ch, srv, ch.Steps[firstDeposedStep(ch.Steps):]); err != nil {
		return err
	}
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// firstDeposedStep returns the index of the first step that acts on the
// deposed object of a replace (see serverSteps), len(steps) when none does.
func firstDeposedStep(steps []Step) int {
	for i, s := range steps {
		if s == StepDisableProtection || s == StepDelete {
			return i
		}
	}
	return len(steps)
}

// serverSteps runs steps of the change on the manager srv and returns the
// manager they leave (a create replaces it). In a replace, disable
// protection and delete act on the deposed manager, by its ID from the
// plan; every other step acts on srv. The last of the steps may leave its
// action to be waited for at the end of the apply.
func (a *applier) serverSteps(ctx context.Context, ch Change, srv *Server, steps []Step) (*Server, error) {
	c := a.opts.Cloud
	m := a.opts.Desired.Manager
	for i, step := range steps {
		last := i == len(steps)-1
		var err error
		switch step {
		case StepDisableProtection:
			err = a.deleteServer(ctx, ch.deposedID(), []Step{StepDisableProtection})
		case StepDelete:
			a.op(Op{Addr: ch.Addr, Kind: OpDelete, ID: ch.deposedID()})
			err = a.deleteServer(ctx, ch.deposedID(), []Step{StepDelete})
		case StepCreate:
			a.op(Op{Addr: ch.Addr, Kind: OpCreate})
			srv, err = a.createServer(ctx, m, ch)
			err = wrapErr("create", err)
		case StepUpdate, StepAdopt:
			labels := maps.Clone(m.Labels)
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), m.Labels)
			}
			if hk := srv.Labels[LabelSSHHostKey]; hk != "" {
				labels[LabelSSHHostKey] = hk
			}
			err = wrapErr("update name and labels", c.UpdateServer(ctx, srv.ID, m.Name, labels))
			if err == nil {
				srv.Name = m.Name
			}
		case StepChangeProtection:
			var act CloudAction
			if act, err = c.ChangeServerProtection(ctx, srv.ID, Protection{Delete: m.Protection, Rebuild: m.Protection}); err == nil {
				if last {
					// Protection is no step's prerequisite: the files
					// are written while Hetzner applies it.
					a.waitLater(ch.Addr, []CloudAction{act})
				} else {
					err = a.wait(ctx, act)
				}
			}
			err = wrapErr("change protection", err)
		case StepChangeType:
			err = wrapErr("change type", a.changeServerType(ctx, ch.Addr, srv.ID, m.ServerType))
		case StepPoweron:
			var act CloudAction
			if act, err = c.ServerPower(ctx, srv.ID, PowerOn); err == nil {
				err = a.wait(ctx, act)
			}
			err = wrapErr("power on", err)
		}
		if err != nil {
			return srv, err
		}
	}
	return srv, nil
}

// createServer creates the manager with a freshly generated SSH host key
// whose fingerprint becomes a label. A 409 uniqueness_error means an earlier
// apply created it and was killed: it is taken over when it carries the
// fleet's labels (and with them the fingerprint of the host key that
// earlier apply generated). A CreateThenDelete creates it under the
// change's temporary name, labelled with the ID it replaces, and takes over
// only a server labelled so.
func (a *applier) createServer(ctx context.Context, m DesiredServer, ch Change) (*Server, error) {
	c := a.opts.Cloud
	var keyIDs []int64
	a.mu.Lock()
	for _, name := range m.SSHKeys {
		id, ok := a.keyIDs[name]
		if !ok {
			a.mu.Unlock()
			return nil, fmt.Errorf("ssh key %s has no ID", name)
		}
		keyIDs = append(keyIDs, id)
	}
	a.mu.Unlock()
	if a.opts.Desired.userData == nil {
		return nil, errors.New("no cloud-init for the manager")
	}
	userData, hostKey, err := a.opts.Desired.userData()
	if err != nil {
		return nil, err
	}
	name := m.Name
	labels := maps.Clone(m.Labels)
	labels[LabelSSHHostKey] = hostKey
	if ch.Action == CreateThenDelete && ch.TemporaryName != "" {
		name = ch.TemporaryName
		labels[LabelReplaces] = strconv.FormatInt(ch.deposedID(), 10)
	}
	srv, acts, err := c.CreateServer(ctx, ServerCreate{
		Name: name, ServerType: m.ServerType, Image: m.Image, Location: m.Location,
		SSHKeys: keyIDs, UserData: string(userData), Labels: labels,
	})
	if IsUniquenessError(err) {
		found, ferr := c.FindServer(ctx, name)
		if ferr != nil {
			return nil, ferr
		}
		if found == nil || found.Labels[spec.LabelFleet] != a.opts.Desired.Fleet || found.Labels[spec.LabelRole] != RoleManager {
			return nil, fmt.Errorf("a server named %q exists without the label %s=%s (created since the plan): rerun plan", name, spec.LabelFleet, a.opts.Desired.Fleet)
		}
		if found.Labels[LabelReplaces] != labels[LabelReplaces] {
			return nil, fmt.Errorf("a server named %q exists that is not the replacement of server %s (created since the plan): rerun plan", name, labels[LabelReplaces])
		}
		a.opts.Hooks.Notice(Notice{Addr: NewAddr(KindServer, m.Name), Message: fmt.Sprintf("found the server an earlier apply created [id=%d]", found.ID)})
		return found, nil
	}
	if err != nil {
		return nil, err
	}
	if err := a.wait(ctx, acts...); err != nil {
		return &srv, err
	}
	return &srv, nil
}

// changeServerType does what Hetzner requires: shut down (gracefully, then
// hard after ShutdownTimeout), change_type keeping the disk, power on.
func (a *applier) changeServerType(ctx context.Context, addr Addr, id int64, serverType string) error {
	c := a.opts.Cloud
	a.op(Op{Addr: addr, Kind: OpShutdown, ID: id})
	cur, err := c.GetServer(ctx, id)
	if err != nil {
		return err
	}
	if cur.Status != "off" {
		act, err := c.ServerPower(ctx, id, PowerShutdown)
		if err == nil {
			err = a.wait(ctx, act)
		}
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		deadline := time.Now().Add(a.opts.ShutdownTimeout)
		for {
			cur, err = c.GetServer(ctx, id)
			if err != nil {
				return err
			}
			if cur.Status == "off" {
				break
			}
			if time.Now().After(deadline) {
				a.op(Op{Addr: addr, Kind: OpPowerOff, ID: id, Status: cur.Status, Timeout: a.opts.ShutdownTimeout})
				act, err := c.ServerPower(ctx, id, PowerOff)
				if err == nil {
					err = a.wait(ctx, act)
				}
				if err != nil {
					return fmt.Errorf("power off: %w", err)
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(a.opts.ServerPoll):
			}
		}
	}
	act, err := c.ChangeServerType(ctx, id, serverType)
	if err == nil {
		err = a.wait(ctx, act)
	}
	if err != nil {
		return err
	}
	act, err = c.ServerPower(ctx, id, PowerOn)
	if err == nil {
		err = a.wait(ctx, act)
	}
	return wrapErr("power on", err)
}

// deleteServerChange prunes a manager that left fleet.yaml.
func (a *applier) deleteServerChange(ctx context.Context, ch Change) error {
	a.op(Op{Addr: ch.Addr, Kind: OpDelete, ID: ch.ID})
	if err := a.deleteServer(ctx, ch.ID, ch.Steps); err != nil {
		return err
	}
	a.record(ch.Addr, "destroyed")
	return nil
}

// deleteServer lifts the protection when the steps say so, then deletes
// the server. Apply's prune and Destroy share it.
func (a *applier) deleteServer(ctx context.Context, id int64, steps []Step) error {
	c := a.opts.Cloud
	for _, step := range steps {
		switch step {
		case StepDisableProtection:
			act, err := c.ChangeServerProtection(ctx, id, Protection{})
			if err == nil {
				err = a.wait(ctx, act)
			}
			if err != nil && !IsNotFound(err) {
				return fmt.Errorf("disable protection: %w", err)
			}
		case StepDelete:
			act, err := c.DeleteServer(ctx, id)
			if err == nil {
				err = a.wait(ctx, act)
			}
			if err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete: %w", err)
			}
		}
	}
	return nil
}

// applyFiles writes the manager's changed files in plan order (binary and
// fleet.yaml copy before config.toml), then restarts gitlab-runner once if

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/fleetctl/fleetctl/spec"
)

// SSH keys: created with the fleet's labels, renamed and relabelled in
// place, replaced when the public key changes (Hetzner cannot change it).
// The IDs they end up with are what the manager's create sends.

// keptKeyIDs returns the IDs of the SSH keys the plan keeps (unchanged or
// updated in place), by name: the manager's create needs them even when
// the first phase does nothing to them.
func keptKeyIDs(p *Plan) map[string]int64 {
	ids := map[string]int64{}
	for _, ch := range p.Changes {
		if ch.Addr.Kind() == KindSSHKey && ch.ID != 0 && ch.Action != Delete && !ch.Action.IsReplace() {
			ids[ch.Addr.Name()] = ch.ID
		}
	}
	return ids
}

func (a *applier) sshKeyByName(name string) (DesiredSSHKey, bool) {
	for _, k := range a.opts.Desired.SSHKeys {
		if k.Name == name {
			return k, true
		}
	}
	return DesiredSSHKey{}, false
}

func (a *applier) applySSHKey(ctx context.Context, ch Change) error {
	c := a.opts.Cloud
	name := ch.Addr.Name()
	dk, ok := a.sshKeyByName(name)
	if !ok {
		return errors.New("not in the desired state")
	}
	for _, step := range ch.Steps {
		switch step {
		case StepDelete:
			a.op(Op{Addr: ch.Addr, Kind: OpDelete, ID: ch.deposedID()})
			if err := c.DeleteSSHKey(ctx, ch.deposedID()); err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete: %w", err)
			}
		case StepCreate:
			a.op(Op{Addr: ch.Addr, Kind: OpCreate})
			k, err := c.CreateSSHKey(ctx, SSHKeyCreate{Name: dk.Name, PublicKey: dk.PublicKey, Labels: dk.Labels})
			if IsUniquenessError(err) {
				k, err = a.adoptSSHKey(ctx, dk)
			}
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			a.setKeyID(name, k.ID)
		case StepUpdate, StepAdopt:
			labels := dk.Labels
			if step == StepAdopt {
				labels = mergeLabels(stringMap(ch.Before["labels"]), dk.Labels)
			}
			if err := c.UpdateSSHKey(ctx, ch.ID, dk.Name, labels); err != nil {
				return fmt.Errorf("update: %w", err)
			}
			a.setKeyID(name, ch.ID)
		}
	}
	a.record(ch.Addr, verbFor(ch))
	return nil
}

// deleteSSHKey prunes a key that left fleet.yaml.
func (a *applier) deleteSSHKey(ctx context.Context, ch Change) error {
	a.op(Op{Addr: ch.Addr, Kind: OpDelete, ID: ch.ID})
	if err := a.opts.Cloud.DeleteSSHKey(ctx, ch.ID); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete: %w", err)
	}
	a.record(ch.Addr, "destroyed")
	return nil
}

// adoptSSHKey resolves a 409 uniqueness_error on create: the key exists,
// most likely created by an apply that was killed before it saw the answer.
// It is taken over only when it carries the fleet's label.
func (a *applier) adoptSSHKey(ctx context.Context, dk DesiredSSHKey) (SSHKey, error) {
	k, err := a.opts.Cloud.FindSSHKey(ctx, dk.Name)
	if err != nil {
		return SSHKey{}, err
	}
	if k == nil {
		return SSHKey{}, fmt.Errorf("Hetzner reports the key exists (uniqueness_error), but no key is named %q: "+
			"another key with the same public key exists under another name", dk.Name)
	}
	if k.Labels[spec.LabelFleet] != a.opts.Desired.Fleet {
		return SSHKey{}, fmt.Errorf("an SSH key named %q exists without the label %s=%s (created since the plan): rerun plan", dk.Name, spec.LabelFleet, a.opts.Desired.Fleet)
	}
	if !maps.Equal(k.Labels, dk.Labels) {
		if err := a.opts.Cloud.UpdateSSHKey(ctx, k.ID, dk.Name, dk.Labels); err != nil {
			return SSHKey{}, err
		}
	}
	return *k, nil
}

func (a *applier) setKeyID(name string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keyIDs[name] = id
}

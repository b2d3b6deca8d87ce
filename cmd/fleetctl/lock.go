package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
)

// lockFlags are the apply lock's flags of apply and destroy.
type lockFlags struct {
	timeout time.Duration
	// ttl is hidden: how long a lock outlives a killed holder; tests
	// shorten it.
	ttl time.Duration
}

func (f *lockFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.timeout, "lock-timeout", 0, "wait this long for the fleet's apply lock when another apply or destroy holds it (default: refuse at once)")
	cmd.Flags().DurationVar(&f.ttl, "lock-ttl", reconcile.DefaultLockTTL, "how long the lock stays valid unless renewed")
	_ = cmd.Flags().MarkHidden("lock-ttl")
}

// withLock runs fn holding the fleet's apply lock, with a context that
// ends if the lock is lost; the lock is released (deleted) afterwards,
// also when fn fails or the command is interrupted.
func withLock(ctx context.Context, sess *reconcile.Session, f lockFlags, operation string, fn func(context.Context) error) error {
	lock, held, err := sess.Lock(ctx, reconcile.LockOptions{Operation: operation, Timeout: f.timeout, TTL: f.ttl})
	if err != nil {
		return err
	}
	err = fn(held)
	if cause := context.Cause(held); cause == reconcile.ErrLockLost && err != nil {
		err = fmt.Errorf("%w (%v)", reconcile.ErrLockLost, err)
	}
	if rerr := lock.Release(ctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

type unlockOptions struct {
	file    string
	confirm string
}

func newUnlockCmd(s streams) *cobra.Command {
	var o unlockOptions
	cmd := &cobra.Command{
		Use:   "unlock -f fleet.yaml --confirm FLEET-NAME",
		Short: "Break the fleet's apply lock left by an apply or destroy that died",
		Long: `apply and destroy hold the fleet's apply lock, a placement group named
fleetctl-lock-<name> whose labels say who holds it, from where and until when.
A lock whose holder died is taken over by itself once it expires (2 minutes
after its last renewal); unlock removes it now. If its holder still runs, that
apply stops at its next renewal. --confirm must repeat the fleet's name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return unlockRun(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", defaultFleetFile, "the fleet.yaml naming the fleet")
	cmd.Flags().StringVar(&o.confirm, "confirm", "", "the fleet's name, to confirm")
	return cmd
}

func unlockRun(ctx context.Context, s streams, o unlockOptions) error {
	sess, err := newSession(o.file, "", s, nil)
	if err != nil {
		return err
	}
	fleet := sess.Fleet.Name
	if o.confirm != fleet {
		return fmt.Errorf("unlock breaks the apply lock of fleet %q whoever holds it: pass --confirm %s to confirm (nothing was changed)", fleet, fleet)
	}
	h, err := reconcile.BreakLock(ctx, sess.Cloud, fleet)
	if err != nil {
		return err
	}
	if h == nil {
		fmt.Fprintf(s.Out, "Fleet %s is not locked.\n", fleet)
		return nil
	}
	state := "it had expired"
	if time.Now().Before(h.Expires) {
		state = "it had not expired: if that process still runs, it stops at its next renewal"
	}
	fmt.Fprintf(s.Out, "Lock %s broken: it was held by %s; %s.\n", reconcile.LockName(fleet), h, state)
	return nil
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

type destroyOptions struct {
	file     string
	confirm  string
	planFile string
	output   string
	lock     lockFlags
}

func newDestroyCmd(s streams) *cobra.Command {
	var o destroyOptions
	cmd := &cobra.Command{
		Use:   "destroy -f fleet.yaml --confirm FLEET-NAME [PLANFILE]",
		Short: "Remove everything the fleet owns, autoscaled instances included",
		Long: `destroy deletes every resource that carries the label fleetctl.io/fleet=<name>:
the manager, the plugin's autoscaled instances and SSH key, the firewalls and
the SSH keys. Protection is lifted only on resources the fleet owns; nothing
without the label is touched. --confirm must repeat the fleet's name.

It plans the removal (as plan --destroy shows it), shows the plan and applies
it. Given the destroy plan saved by plan --destroy --out, it applies that one,
and refuses it when the fleet's resources changed since it was made.
Autoscaled instances the plugin created meanwhile are removed all the same.

With -o json, stdout is a stream of JSON events, one object per line, as
apply -o json writes it.

destroy holds the fleet's apply lock as apply does, from before it lists the
resources, and removes it last.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.planFile = args[0]
			}
			return destroyRun(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", defaultFleetFile, "the fleet.yaml naming the fleet")
	cmd.Flags().StringVar(&o.confirm, "confirm", "", "the fleet's name, to confirm")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text, or json for JSON events on stdout, one per line")
	o.lock.register(cmd)
	return cmd
}

func destroyRun(ctx context.Context, s streams, o destroyOptions) error {
	hooks, events, err := progressView(s, o.output)
	if err != nil {
		return err
	}
	if events == nil {
		return destroyText(ctx, s, o, hooks)
	}
	events.Version("destroy")
	n, err := destroyEvents(ctx, s, o, events)
	if err != nil {
		events.Error(err)
		return err
	}
	events.Summary("destroy", reconcile.Counts{Destroy: n})
	return nil
}

// destroyEvents destroys with the JSON view: the plan as planned_change
// events, the progress and results as they happen.
func destroyEvents(ctx context.Context, s streams, o destroyOptions, events *planview.JSONHooks) (n int, err error) {
	sess, err := destroySession(s, o, events)
	if err != nil {
		return 0, err
	}
	err = withLock(ctx, sess, o.lock, "destroy", func(ctx context.Context) error {
		plan, err := destroyPlan(ctx, sess, o)
		if err != nil {
			return err
		}
		events.Plan(plan)
		results, err := sess.ApplyDestroy(ctx, plan, o.confirm)
		n = len(results)
		return err
	})
	return n, err
}

// destroyText destroys with the human view: the plan and the results on
// stdout, the progress on stderr.
func destroyText(ctx context.Context, s streams, o destroyOptions, hooks reconcile.Hooks) error {
	sess, err := destroySession(s, o, hooks)
	if err != nil {
		return err
	}
	return withLock(ctx, sess, o.lock, "destroy", func(ctx context.Context) error {
		return destroyTextLocked(ctx, s, sess, o)
	})
}

func destroyTextLocked(ctx context.Context, s streams, sess *reconcile.Session, o destroyOptions) error {
	plan, err := destroyPlan(ctx, sess, o)
	if err != nil {
		return err
	}
	if err := planview.Text(s.Out, plan, planview.TextOptions{Color: s.color}); err != nil {
		return err
	}
	if plan.HasChanges() {
		fmt.Fprintln(s.Out)
	}
	results, err := sess.ApplyDestroy(ctx, plan, o.confirm)
	for _, r := range results {
		fmt.Fprintln(s.Out, r.String())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "\nDestroy complete! Resources: %d destroyed.\n", len(results))
	return nil
}

// destroySession loads the fleet and checks the confirmation, before the
// lock is taken or anything read.
func destroySession(s streams, o destroyOptions, hooks reconcile.Hooks) (*reconcile.Session, error) {
	sess, err := newSession(o.file, "", s, hooks)
	if err != nil {
		return nil, err
	}
	if err := reconcile.ConfirmDestroy(sess.Fleet.Name, o.confirm); err != nil {
		return nil, err
	}
	return sess, nil
}

// destroyPlan makes the destroy plan, or takes the saved one when it is a
// destroy plan that still matches the live state.
func destroyPlan(ctx context.Context, sess *reconcile.Session, o destroyOptions) (*reconcile.Plan, error) {
	var (
		saved *reconcile.Plan
		err   error
	)
	if o.planFile != "" {
		if saved, err = reconcile.ReadPlanFile(o.planFile); err != nil {
			return nil, err
		}
		if saved.Mode != reconcile.ModeDestroy {
			return nil, fmt.Errorf("%s: not a destroy plan: apply it with `fleetctl apply`, or make one with `fleetctl plan --destroy --out FILE`; nothing was changed", o.planFile)
		}
	}
	plan, err := sess.PlanDestroy(ctx)
	if err != nil {
		return nil, err
	}
	if saved != nil {
		if err := reconcile.CheckSaved(saved, plan); err != nil {
			return nil, fmt.Errorf("%s: %w", o.planFile, err)
		}
		plan = saved
	}
	return plan, nil
}

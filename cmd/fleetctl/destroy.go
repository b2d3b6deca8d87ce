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
Autoscaled instances the plugin created meanwhile are removed all the same.`,
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
	return cmd
}

func destroyRun(ctx context.Context, s streams, o destroyOptions) error {
	sess, err := newSession(o.file, "", s.ErrOut)
	if err != nil {
		return err
	}
	if err := reconcile.ConfirmDestroy(sess.Fleet.Name, o.confirm); err != nil {
		return err
	}
	var saved *reconcile.Plan
	if o.planFile != "" {
		if saved, err = reconcile.ReadPlanFile(o.planFile); err != nil {
			return err
		}
		if saved.Mode != reconcile.ModeDestroy {
			return fmt.Errorf("%s: not a destroy plan: apply it with `fleetctl apply`, or make one with `fleetctl plan --destroy --out FILE`; nothing was changed", o.planFile)
		}
	}
	plan, err := sess.PlanDestroy(ctx)
	if err != nil {
		return err
	}
	if saved != nil {
		if err := reconcile.CheckSaved(saved, plan); err != nil {
			return fmt.Errorf("%s: %w", o.planFile, err)
		}
		plan = saved
	}
	if err := planview.Text(s.Out, plan, planview.TextOptions{Color: useColor(s.Out)}); err != nil {
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

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

type applyOptions struct {
	reconcileFlags
	planFile     string
	allowDestroy bool
}

func newApplyCmd(s streams) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply -f fleet.yaml [PLANFILE]",
		Short: "Make Hetzner Cloud and the manager match fleet.yaml",
		Long: `apply plans (or takes the plan saved by plan --out), shows it and executes it
without asking: it is made for CI. A saved plan is refused when the live state
or fleet.yaml changed since it was made. Deletes and replacements need
--allow-destroy. Every secret apply needs is checked before anything changes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.planFile = args[0]
			}
			return applyRun(cmd.Context(), s, o)
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&o.allowDestroy, "allow-destroy", false, "allow deleting and replacing resources")
	return cmd
}

func applyRun(ctx context.Context, s streams, o applyOptions) error {
	sess, err := newSession(o.file, o.pluginBinary, s)
	if err != nil {
		return err
	}
	plan, err := sess.Plan(ctx, o.adopt)
	if err != nil {
		return fieldProblem(sess.Fleet, err)
	}
	if o.planFile != "" {
		saved, err := reconcile.ReadPlanFile(o.planFile)
		if err != nil {
			return err
		}
		if err := reconcile.CheckSaved(saved, plan); err != nil {
			return fmt.Errorf("%s: %w", o.planFile, err)
		}
		plan = saved
	}
	if err := planview.Text(s.Out, plan, planview.TextOptions{Color: s.color}); err != nil {
		return err
	}
	if err := reconcile.CheckApplicable(plan, reconcile.ApplyOptions{
		Desired: sess.Desired, Connector: sess.Connector, NoConnectorReason: sess.NoConnectorReason, AllowDestroy: o.allowDestroy,
	}); err != nil {
		return err
	}
	if !plan.HasChanges() {
		return nil
	}
	fmt.Fprintln(s.Out)
	results, err := sess.Apply(ctx, plan, o.allowDestroy)
	for _, r := range results {
		fmt.Fprintln(s.Out, r.String())
	}
	if err != nil {
		return fmt.Errorf("apply stopped after %d change(s): %w", len(results), err)
	}
	c := plan.Counts()
	fmt.Fprintf(s.Out, "\nApply complete! Resources: %d added, %d changed, %d destroyed.\n", c.Add, c.Change, c.Destroy)
	return nil
}

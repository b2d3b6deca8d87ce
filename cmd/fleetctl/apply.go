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
	output       string
}

func newApplyCmd(s streams) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply -f fleet.yaml [PLANFILE]",
		Short: "Make Hetzner Cloud and the manager match fleet.yaml",
		Long: `apply plans (or takes the plan saved by plan --out), shows it and executes it
without asking: it is made for CI. A saved plan is refused when the live state
or fleet.yaml changed since it was made. Deletes and replacements need
--allow-destroy. Every secret apply needs is checked before anything changes.

With -o json, stdout is a stream of JSON events, one object per line: the
planned changes, each operation, action and result as it happens, and a
summary or the error last (docs/plan-apply.md describes the format).`,
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
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text, or json for JSON events on stdout, one per line")
	return cmd
}

func applyRun(ctx context.Context, s streams, o applyOptions) error {
	hooks, events, err := progressView(s, o.output)
	if err != nil {
		return err
	}
	if events == nil {
		return applyText(ctx, s, o, hooks)
	}
	events.Version("apply")
	c, err := applyEvents(ctx, s, o, events)
	if err != nil {
		events.Error(err)
		return err
	}
	events.Summary("apply", c)
	return nil
}

// applyEvents applies with the JSON view: the plan as planned_change
// events, the progress and results as they happen.
func applyEvents(ctx context.Context, s streams, o applyOptions, events *planview.JSONHooks) (reconcile.Counts, error) {
	sess, plan, err := applyPlan(ctx, s, o, events)
	if err != nil {
		return reconcile.Counts{}, err
	}
	events.Plan(plan)
	if err := checkApplicable(sess, plan, o); err != nil || !plan.HasChanges() {
		return reconcile.Counts{}, err
	}
	results, err := sess.Apply(ctx, plan, o.allowDestroy)
	if err != nil {
		return reconcile.Counts{}, fmt.Errorf("apply stopped after %d change(s): %w", len(results), err)
	}
	return plan.Counts(), nil
}

// applyText applies with the human view: the plan and the results on
// stdout, the progress on stderr.
func applyText(ctx context.Context, s streams, o applyOptions, hooks reconcile.Hooks) error {
	sess, plan, err := applyPlan(ctx, s, o, hooks)
	if err != nil {
		return err
	}
	if err := planview.Text(s.Out, plan, planview.TextOptions{Color: s.color}); err != nil {
		return err
	}
	if err := checkApplicable(sess, plan, o); err != nil {
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

// applyPlan makes the plan to apply, or takes the saved one when it still
// matches the live state.
func applyPlan(ctx context.Context, s streams, o applyOptions, hooks reconcile.Hooks) (*reconcile.Session, *reconcile.Plan, error) {
	sess, err := newSession(o.file, o.pluginBinary, s, hooks)
	if err != nil {
		return nil, nil, err
	}
	plan, err := sess.Plan(ctx, o.adopt)
	if err != nil {
		return nil, nil, fieldProblem(sess.Fleet, err)
	}
	if o.planFile != "" {
		saved, err := reconcile.ReadPlanFile(o.planFile)
		if err != nil {
			return nil, nil, err
		}
		if err := reconcile.CheckSaved(saved, plan); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.planFile, err)
		}
		plan = saved
	}
	return sess, plan, nil
}

// checkApplicable refuses the plan before anything changes (see
// reconcile.CheckApplicable).
func checkApplicable(sess *reconcile.Session, plan *reconcile.Plan, o applyOptions) error {
	return reconcile.CheckApplicable(plan, reconcile.ApplyOptions{
		Desired: sess.Desired, Connector: sess.Connector, NoConnectorReason: sess.NoConnectorReason, AllowDestroy: o.allowDestroy,
	})
}

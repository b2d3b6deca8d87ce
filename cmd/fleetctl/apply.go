package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

type applyOptions struct {
	reconcileFlags
	lock     lockFlags
	planFile string
	// fileGiven is set when -f was on the command line.
	fileGiven    bool
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
summary or the error last (docs/plan-apply.md describes the format).

apply holds the fleet's apply lock from before it reads the live state until
it ends: a second apply or destroy is refused at once, naming the holder, or
waits with --lock-timeout. plan takes no lock.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.planFile = args[0]
			}
			o.fileGiven = cmd.Flags().Changed("file")
			return applyRun(cmd.Context(), s, o)
		},
	}
	o.register(cmd)
	o.lock.register(cmd)
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
func applyEvents(ctx context.Context, s streams, o applyOptions, events *planview.JSONHooks) (c reconcile.Counts, err error) {
	sess, err := newSession(o.file, o.pluginBinary, s, events)
	if err != nil {
		return reconcile.Counts{}, err
	}
	err = withLock(ctx, sess, o.lock, "apply", func(ctx context.Context) error {
		c, err = applyEventsLocked(ctx, sess, o, events)
		return err
	})
	return c, err
}

func applyEventsLocked(ctx context.Context, sess *reconcile.Session, o applyOptions, events *planview.JSONHooks) (reconcile.Counts, error) {
	plan, err := applyPlan(ctx, sess, o)
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
	sess, err := newSession(o.file, o.pluginBinary, s, hooks)
	if err != nil {
		return err
	}
	return withLock(ctx, sess, o.lock, "apply", func(ctx context.Context) error {
		return applyTextLocked(ctx, s, sess, o)
	})
}

func applyTextLocked(ctx context.Context, s streams, sess *reconcile.Session, o applyOptions) error {
	plan, err := applyPlan(ctx, sess, o)
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
func applyPlan(ctx context.Context, sess *reconcile.Session, o applyOptions) (*reconcile.Plan, error) {
	plan, err := sess.Plan(ctx, o.adopt)
	if err != nil {
		return nil, fieldProblem(sess.Fleet, err)
	}
	if o.planFile != "" {
		saved, err := reconcile.ReadPlanFile(o.planFile)
		if err != nil {
			return nil, err
		}
		if err := reconcile.CheckSaved(saved, plan); err != nil {
			if !o.fileGiven {
				// The plan may well be fine, made from another file.
				abs, _ := filepath.Abs(o.file)
				return nil, fmt.Errorf("%s: %w (compared with %s, the default without -f: if the plan was made from another fleet.yaml, pass it with -f)", o.planFile, err, abs)
			}
			return nil, fmt.Errorf("%s: %w (compared with %s)", o.planFile, err, o.file)
		}
		plan = saved
	}
	return plan, nil
}

// checkApplicable refuses the plan before anything changes (see
// reconcile.CheckApplicable).
func checkApplicable(sess *reconcile.Session, plan *reconcile.Plan, o applyOptions) error {
	return reconcile.CheckApplicable(plan, reconcile.ApplyOptions{
		Desired: sess.Desired, Connector: sess.Connector, NoConnectorReason: sess.NoConnectorReason, AllowDestroy: o.allowDestroy,
	})
}

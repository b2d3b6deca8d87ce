package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
)

// reconcileFlags are the flags plan and apply share.
type reconcileFlags struct {
	file         string
	adopt        bool
	pluginBinary string
}

func (f *reconcileFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", defaultFleetFile, "the fleet.yaml to converge to")
	cmd.Flags().BoolVar(&f.adopt, "adopt", false, "take over unlabelled resources that have a desired resource's name by adding the fleet's labels")
	cmd.Flags().StringVar(&f.pluginBinary, "plugin-binary", "", "the linux fleetctl binary to install on the manager, or a release directory holding fleetctl-linux-amd64 and fleetctl-linux-arm64 (default: this executable when it fits the manager's architecture, else fleetctl-linux-ARCH next to it)")
}

// newSession loads fleet.yaml (its warnings go to ErrOut) and prepares the
// cloud and SSH access; hooks receive the progress of apply and destroy and
// the Hetzner adapter's retries. The secrets the session resolves are
// masked in everything the command prints.
func newSession(path, pluginBinary string, s streams, hooks reconcile.Hooks) (*reconcile.Session, error) {
	f, _, err := loadFleet(path, s.ErrOut)
	if err != nil {
		return nil, err
	}
	return reconcile.NewSession(f, reconcile.SessionOptions{
		PluginBinary: pluginBinary,
		UserAgent:    "fleetctl",
		Hooks:        hooks,
		Secrets:      s.secrets,
	})
}

// progressView returns the hooks for the output format of apply and
// destroy: the text view's lines on stderr, or JSON events on stdout
// (then also returned as events, for the stream's first and last lines).
func progressView(s streams, output string) (hooks reconcile.Hooks, events *planview.JSONHooks, err error) {
	switch output {
	case "text":
		return planview.NewTextHooks(s.ErrOut), nil, nil
	case "json":
		events = planview.NewJSONHooks(s.Out)
		return events, events, nil
	}
	return nil, nil, fmt.Errorf("--output %q: want text or json", output)
}

// useColor reports whether w is a terminal and NO_COLOR is unset.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

type planOptions struct {
	reconcileFlags
	output           string
	out              string
	gitlabReport     string
	detailedExitcode bool
	destroy          bool
	failNotCompared  bool
}

func newPlanCmd(s streams) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan -f fleet.yaml",
		Short: "Show what apply would change on Hetzner Cloud and the manager",
		Long: `plan reads the live state of the fleet (one label-filtered list per resource
kind, and the manager's files over SSH) and shows what apply would change.

It works with a read-only HCLOUD_TOKEN and without the runner token or the
manager's SSH key, as in merge request pipelines: what it cannot compare is
listed with the reason.

A host key that does not match the manager's label is an error, never a
note: fleetctl does not connect.

With --destroy it shows what destroy would remove instead: every resource
carrying the fleet's label, the autoscaled instances included. It then needs
neither secrets of fleet.yaml nor SSH, and a plan saved with --out is applied
with ` + "`fleetctl destroy --confirm NAME FILE`" + `.

Exit codes: 0 success, 1 error; with --detailed-exitcode 0 no changes,
1 error, 2 changes. --fail-on-not-compared makes anything not compared an
error (exit 1) whatever else the plan holds: a scheduled drift check needs
it, since "no changes" to what could be compared is no proof of no drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return planRun(cmd.Context(), s, o)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&o.out, "out", "", "save the plan to this file for `fleetctl apply FILE`")
	cmd.Flags().StringVar(&o.gitlabReport, "gitlab-report", "", "write GitLab's terraform report (create/update/delete counts) to this file")
	cmd.Flags().BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "exit 2 when there are changes, 0 when there are none")
	cmd.Flags().BoolVar(&o.destroy, "destroy", false, "plan the removal of everything the fleet owns, as destroy does")
	cmd.Flags().BoolVar(&o.failNotCompared, "fail-on-not-compared", false, "exit 1 when anything could not be compared (a missing SSH key or secret, an unreadable file), as a drift check needs")
	return cmd
}

func planRun(ctx context.Context, s streams, o planOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	if o.destroy && o.adopt {
		return errors.New("--adopt and --destroy exclude each other: a destroy plan adopts nothing")
	}
	sess, err := newSession(o.file, o.pluginBinary, s, planview.NewTextHooks(s.ErrOut))
	if err != nil {
		return err
	}
	var plan *reconcile.Plan
	if o.destroy {
		plan, err = sess.PlanDestroy(ctx)
	} else {
		plan, err = sess.Plan(ctx, o.adopt)
	}
	if err != nil {
		return fieldProblem(sess.Fleet, err)
	}
	if o.output == "json" {
		err = planview.JSON(s.Out, plan)
	} else {
		err = planview.Text(s.Out, plan, planview.TextOptions{Color: s.color})
	}
	if err != nil {
		return err
	}
	if o.out != "" {
		if err := reconcile.WritePlanFile(o.out, plan); err != nil {
			return err
		}
		if o.destroy {
			fmt.Fprintf(s.ErrOut, "Saved the destroy plan to %s: apply it with `fleetctl destroy -f %s --confirm %s %s`.\n", o.out, o.file, plan.Fleet, o.out)
		} else {
			fmt.Fprintf(s.ErrOut, "Saved the plan to %s: apply it with `fleetctl apply -f %s %s`.\n", o.out, o.file, o.out)
		}
	}
	if o.gitlabReport != "" {
		f, err := os.OpenFile(o.gitlabReport, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("gitlab report: %w", err)
		}
		err = planview.GitLabReport(f, plan)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("gitlab report: %w", err)
		}
	}
	if len(plan.Errors) > 0 {
		return &codeError{code: exitError, err: fmt.Errorf("the plan has %d error(s); see above", len(plan.Errors))}
	}
	if n := len(plan.NotCompared); n > 0 && o.failNotCompared {
		return &codeError{code: exitError, err: fmt.Errorf("%d item(s) were not compared (see above), and --fail-on-not-compared is set", n)}
	}
	if o.detailedExitcode && plan.HasChanges() {
		return &codeError{code: exitChanges}
	}
	return nil
}

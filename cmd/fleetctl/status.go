package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile/planview"
)

// hetznerHourlyBudget is Hetzner Cloud's default rate limit: 3,600 requests
// an hour per project. --watch spends at most half of it.
const hetznerHourlyBudget = 3600

type statusOptions struct {
	file         string
	pluginBinary string
	output       string
	watch        bool
	interval     time.Duration
}

func newStatusCmd(s streams) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status -f fleet.yaml",
		Short: "Show the fleet's health and what it costs",
		Long: `status shows the manager server, gitlab-runner on it, each runner's
autoscaled instances against max_instances and the idle floor the policy in
effect now asks for, the jobs running (from gitlab-runner's metrics, where
gitlab_runner.listen_address is set) and what the fleet costs per hour and
per month at that rate, from Hetzner's prices.

It reads what plan reads (a few label-filtered lists and GET /pricing,
however many other resources the project holds) and asks the manager over
SSH about gitlab-runner. A read-only HCLOUD_TOKEN is enough; without the SSH
key it says what it could not see.

--watch refreshes every --interval, never more often than keeps it within
half of Hetzner's 3,600 requests an hour.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return statusRun(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", defaultFleetFile, "the fleet.yaml of the fleet")
	cmd.Flags().StringVar(&o.pluginBinary, "plugin-binary", "", "the linux fleetctl binary apply installs, to compare with the manager's (default: this executable)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "refresh until interrupted")
	cmd.Flags().DurationVar(&o.interval, "interval", 30*time.Second, "time between refreshes with --watch")
	return cmd
}

func statusRun(ctx context.Context, s streams, o statusOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	if o.watch && o.interval <= 0 {
		return fmt.Errorf("--interval %s: want a positive duration", o.interval)
	}
	sess, err := newSession(o.file, o.pluginBinary, s, planview.NewTextHooks(s.ErrOut))
	if err != nil {
		return err
	}
	interval := o.interval
	for first := true; ; first = false {
		st, err := sess.Status(ctx, time.Now())
		if err != nil {
			if !first && ctx.Err() != nil {
				return nil
			}
			return fieldProblem(sess.Fleet, err)
		}
		if o.watch && s.color && o.output == "text" {
			fmt.Fprint(s.Out, "\x1b[H\x1b[2J")
		}
		if o.output == "json" {
			err = planview.StatusJSON(s.Out, st)
		} else {
			err = planview.StatusText(s.Out, st, planview.TextOptions{Color: s.color})
		}
		if err != nil || !o.watch {
			return err
		}
		if first {
			interval = watchInterval(o.interval, st.Requests)
			if interval != o.interval {
				fmt.Fprintf(s.ErrOut, "--interval %s would spend more than half of Hetzner's %d requests an hour; refreshing every %s.\n", o.interval, hetznerHourlyBudget, interval)
			}
		}
		if st.Requests > 0 {
			fmt.Fprintf(s.ErrOut, "Refreshing every %s: %d API requests a look, %d an hour of Hetzner's %d.\n",
				interval, st.Requests, int64(float64(st.Requests)*float64(time.Hour)/float64(interval)), hetznerHourlyBudget)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// watchInterval is the refresh interval that keeps requests per look
// within half of Hetzner's hourly budget.
func watchInterval(asked time.Duration, requests int64) time.Duration {
	if requests <= 0 {
		return asked
	}
	minimum := time.Duration(requests) * time.Hour / (hetznerHourlyBudget / 2)
	return max(asked, minimum)
}

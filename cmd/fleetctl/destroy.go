package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/reconcile"
)

type destroyOptions struct {
	file    string
	confirm string
	output  string
}

func newDestroyCmd(s streams) *cobra.Command {
	var o destroyOptions
	cmd := &cobra.Command{
		Use:   "destroy -f fleet.yaml --confirm FLEET-NAME",
		Short: "Remove everything the fleet owns, autoscaled instances included",
		Long: `destroy deletes every resource that carries the label fleetctl.io/fleet=<name>:
the manager, the plugin's autoscaled instances and SSH key, the firewalls and
the SSH keys. Protection is lifted only on resources the fleet owns; nothing
without the label is touched. --confirm must repeat the fleet's name.

With -o json, stdout is a stream of JSON events, one object per line, as
apply -o json writes it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return destroyRun(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", defaultFleetFile, "the fleet.yaml naming the fleet")
	cmd.Flags().StringVar(&o.confirm, "confirm", "", "the fleet's name, to confirm")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text, or json for JSON events on stdout, one per line")
	return cmd
}

func destroyRun(ctx context.Context, s streams, o destroyOptions) error {
	hooks, events, err := progressView(s, o.output)
	if err != nil {
		return err
	}
	if events != nil {
		events.Version("destroy")
	}
	results, err := destroyWith(ctx, s, o, hooks)
	if events != nil {
		if err != nil {
			events.Error(err)
		} else {
			events.Summary("destroy", reconcile.Counts{Destroy: len(results)})
		}
		return err
	}
	for _, r := range results {
		fmt.Fprintln(s.Out, r.String())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "\nDestroy complete! Resources: %d destroyed.\n", len(results))
	return nil
}

func destroyWith(ctx context.Context, s streams, o destroyOptions, hooks reconcile.Hooks) ([]reconcile.Result, error) {
	sess, err := newSession(o.file, "", s.ErrOut, hooks)
	if err != nil {
		return nil, err
	}
	return sess.Destroy(ctx, o.confirm)
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type destroyOptions struct {
	file    string
	confirm string
}

func newDestroyCmd(s streams) *cobra.Command {
	var o destroyOptions
	cmd := &cobra.Command{
		Use:   "destroy -f fleet.yaml --confirm FLEET-NAME",
		Short: "Remove everything the fleet owns, autoscaled instances included",
		Long: `destroy deletes every resource that carries the label fleetctl.io/fleet=<name>:
the manager, the plugin's autoscaled instances and SSH key, the firewalls and
the SSH keys. Protection is lifted only on resources the fleet owns; nothing
without the label is touched. --confirm must repeat the fleet's name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return destroyRun(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", defaultFleetFile, "the fleet.yaml naming the fleet")
	cmd.Flags().StringVar(&o.confirm, "confirm", "", "the fleet's name, to confirm")
	return cmd
}

func destroyRun(ctx context.Context, s streams, o destroyOptions) error {
	sess, err := newSession(o.file, "", s)
	if err != nil {
		return err
	}
	results, err := sess.Destroy(ctx, o.confirm)
	for _, r := range results {
		fmt.Fprintln(s.Out, r.String())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "\nDestroy complete! Resources: %d destroyed.\n", len(results))
	return nil
}

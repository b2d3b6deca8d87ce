package main

import (
	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/spec"
)

// schemaOptions are schema's inputs.
type schemaOptions struct {
	io streams
}

func newCmdSchema(s streams, runF func(*schemaOptions) error) *cobra.Command {
	opts := &schemaOptions{io: s}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of fleet.yaml",
		Long: `Print the JSON Schema of fleet.yaml, for editors. With yaml-language-server,
save it and add this first line to fleet.yaml:

  # yaml-language-server: $schema=fleet.schema.json`,
		Example: "  fleetctl schema > fleet.schema.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return schemaRun(opts)
		},
	}
}

func schemaRun(opts *schemaOptions) error {
	_, err := opts.io.Out.Write(spec.Schema())
	return err
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/spec"
)

// validateOptions are validate's inputs.
type validateOptions struct {
	io   streams
	File string
}

func newCmdValidate(s streams, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{io: s}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check fleet.yaml without touching anything",
		Long: `Check fleet.yaml strictly: syntax, unknown fields, types and every rule that
needs no network. Every problem is printed at once on stderr as
file:line:col: field.path: message. Warnings are printed too but do not fail.

Needs no token and no network; secrets are not read.`,
		Example: "  fleetctl validate -f fleet.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", defaultFleetFile, "the fleet.yaml to read")
	return cmd
}

func validateRun(opts *validateOptions) error {
	f, warnings, err := loadFleet(opts.File, opts.io.ErrOut)
	if err != nil {
		return err
	}
	problems, fileWarnings := f.CheckPublicKeyFiles()
	for _, w := range fileWarnings {
		fmt.Fprintln(opts.io.ErrOut, w.Error())
	}
	warnings = append(warnings, fileWarnings...)
	if len(problems) > 0 {
		return spec.Problems(problems)
	}
	runners := len(f.GitLabRunner.Runners)
	summary := fmt.Sprintf("%s: fleet %q is valid (%s", opts.File, f.Name, plural(runners, "runner"))
	if len(warnings) > 0 {
		summary += ", " + plural(len(warnings), "warning")
	}
	fmt.Fprintln(opts.io.Out, summary+")")
	return nil
}

package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
)

func newVersionCmd(s streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print fleetctl's version, commit, build date and Go version",
		Long: `Print fleetctl's version, commit, build date and Go version.

The first line is "fleetctl VERSION"; -o json prints one object with the
fields version, commit, date, go_version and platform. A release build
carries its tag and commit; a build from a clone the commit Go recorded;
"go install …@vX.Y.Z" the module version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			switch output {
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			case "text":
				fmt.Fprintf(s.Out, "fleetctl %s\n", info.Version)
				if info.Commit != "" {
					modified := ""
					if info.Modified {
						modified = " (modified)"
					}
					fmt.Fprintf(s.Out, "commit:  %s%s\n", info.Commit, modified)
				}
				if info.Date != "" {
					fmt.Fprintf(s.Out, "built:   %s\n", info.Date)
				}
				fmt.Fprintf(s.Out, "go:      %s %s\n", info.GoVersion, info.Platform)
				return nil
			}
			return fmt.Errorf("--output %q: want text or json", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes, as Terraform's.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

// streams are the command's standard streams: results to Out, progress and
// logs to ErrOut.
type streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// exitError carries a specific exit code through cobra.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *codeError) Unwrap() error { return e.err }

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "fleetctl",
		Short:         "GitLab CI autoscaling on Hetzner Cloud from one fleet.yaml",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.AddCommand(newVersionCmd(s))
	root.AddCommand(newPluginCmd(s))
	return root
}

// run executes the CLI and returns the process exit code. Errors are printed
// here, once.
func run(ctx context.Context, args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(s.ErrOut, "Error: %v\n", ce.err)
		}
		return ce.code
	}
	fmt.Fprintf(s.ErrOut, "Error: %v\n", err)
	return exitError
}

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fleetctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(s.Out, "fleetctl %s\n", v)
			return nil
		},
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/internal/crash"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/spec"
)

// Exit codes, as Terraform's. They are decided here and in codeError only.
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
	// color is set when Out is a terminal and NO_COLOR is unset.
	color bool
	// secrets collects the secret values commands resolve; Out and
	// ErrOut mask them.
	secrets *reconcile.Secrets
}

// codeError carries a specific exit code through cobra. A nil err means
// the command has said all there is to say already.
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

// newRootCmd builds the command tree. Each command registers with one line.
func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "fleetctl",
		Short: "GitLab CI autoscaling on Hetzner Cloud from one fleet.yaml",
		Long: `fleetctl turns a GitLab CI autoscaling fleet on Hetzner Cloud into one
git-committed file, fleet.yaml, and converges Hetzner and the runner-manager to it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.AddCommand(newCmdValidate(s, nil))
	root.AddCommand(newCmdRender(s, nil))
	root.AddCommand(newCmdSchema(s, nil))
	root.AddCommand(newVersionCmd(s))
	root.AddCommand(newPlanCmd(s))
	root.AddCommand(newStatusCmd(s))
	root.AddCommand(newApplyCmd(s))
	root.AddCommand(newDestroyCmd(s))
	root.AddCommand(newUnlockCmd(s))
	root.AddCommand(newPluginCmd(s))
	return root
}

// run executes the CLI and returns the process exit code. Errors are printed
// here, once: fleet.yaml problems one per line as file:line:col: path:
// message, anything else after "Error: ".
func run(ctx context.Context, args []string, s streams) int {
	return runRoot(ctx, args, s, newRootCmd)
}

// runRoot is run with the command tree build makes, for tests that add to
// it.
func runRoot(ctx context.Context, args []string, s streams, build func(streams) *cobra.Command) int {
	// Whatever a command prints passes through the mask of the secrets
	// it resolved: results, progress and the error printed below.
	secrets := reconcile.NewSecrets()
	out, errOut := secrets.Writer(s.Out), secrets.Writer(s.ErrOut)
	defer out.Flush()
	defer errOut.Flush()
	s = streams{In: s.In, Out: out, ErrOut: errOut, color: useColor(s.Out), secrets: secrets}
	err := execute(ctx, build(s), args)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *codeError
	if errors.As(err, &ce) {
		code = ce.code
		err = ce.err
	}
	printError(s.ErrOut, err)
	return code
}

// execute runs the command tree; a panic in it becomes a *crash.Error, so
// that a crash exits 1 like any error.
func execute(ctx context.Context, root *cobra.Command, args []string) (err error) {
	defer crash.Recover(&err)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func printError(w io.Writer, err error) {
	if err == nil {
		return
	}
	var problems spec.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(w, p.Error())
		}
		return
	}
	var problem spec.Problem
	if errors.As(err, &problem) {
		fmt.Fprintln(w, problem.Error())
		return
	}
	fmt.Fprintf(w, "Error: %v\n", err)
}

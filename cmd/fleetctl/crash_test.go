package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPanicExitsOne injects panics into a command: each exits 1 (never 2,
// which --detailed-exitcode reads as changes) with "internal error" on
// stderr, nothing on stdout, and no secret from the panic's value.
func TestPanicExitsOne(t *testing.T) {
	setTokens(t)
	for _, tc := range []struct {
		name  string
		panic func()
		want  string
	}{
		{"runtime error", func() {
			var m map[string]int
			m[testRunnerToken]++ // assignment to a nil map
		}, "internal error: assignment to entry in nil map at "},
		{"value holding a secret", func() { panic("token " + testRunnerToken + " rejected") },
			"internal error: a panic of type string (its message is withheld: it may hold data fleetctl read) at "},
		{"error holding a secret", func() { panic(errors.New("token " + testRunnerToken + " rejected")) },
			"internal error: a panic of type *errors.errorString (its message is withheld: it may hold data fleetctl read) at "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			s := streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
			build := func(s streams) *cobra.Command {
				root := newRootCmd(s)
				root.AddCommand(&cobra.Command{Use: "crash", RunE: func(*cobra.Command, []string) error {
					tc.panic()
					return nil
				}})
				return root
			}
			got := result{code: runRoot(context.Background(), []string{"crash"}, s, build), stdout: out.String(), stderr: errOut.String()}
			if got.code != exitError {
				t.Errorf("exit code %d, want %d", got.code, exitError)
			}
			if !strings.HasPrefix(got.stderr, "Error: "+tc.want) || !strings.Contains(got.stderr, "crash_test.go:") {
				t.Errorf("stderr = %q, want it to start with %q and name the panic's line", got.stderr, "Error: "+tc.want)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			noSecrets(t, got)
		})
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fleetctl/fleetctl/render"
	"github.com/fleetctl/fleetctl/spec"
)

// defaultFleetFile is what -f defaults to, as terraform reads the current
// directory.
const defaultFleetFile = "fleet.yaml"

// loadFleet loads and validates fleet.yaml and prints its warnings to w.
// Errors are spec.Problems, printed by run.
func loadFleet(path string, w io.Writer) (*spec.Fleet, []spec.Problem, error) {
	f, err := spec.Load(path)
	if err != nil {
		return nil, nil, err
	}
	warnings := f.Lint()
	for _, p := range warnings {
		fmt.Fprintln(w, p.Error())
	}
	return f, warnings, nil
}

// fieldProblem turns a render error about one fleet.yaml field into a
// problem at that field's position; other errors pass through.
func fieldProblem(f *spec.Fleet, err error) error {
	var fe *render.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return spec.Problem{File: f.Source, Pos: f.Pos(fe.Path), Path: fe.Path, Message: fe.Err.Error()}
}

// plural writes "1 warning", "2 warnings".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// resolveSecret reads a secret from the environment or its file. Its errors
// name the variable or file, never a value.
func resolveSecret(s spec.Secret) (string, error) {
	v, err := s.Resolve()
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s is empty", s)
	}
	return v, nil
}

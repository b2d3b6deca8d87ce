package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a 1-based line and column in the source file.
type Pos struct {
	Line, Col int
}

// Problem is one thing wrong (or, for a warning, worth a look) in a fleet.yaml.
type Problem struct {
	File string
	Pos  Pos
	// Path is the field path, e.g. gitlab_runner.runners[0].autoscaler.policy[0].idle_time.
	Path string
	// Message says what is wrong and how to fix it.
	Message string
	// Warning problems are printed but do not fail a command.
	Warning bool
}

// Error formats the problem as file:line:col: path: message.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
	} else {
		b.WriteString("<input>")
	}
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Pos.Line, p.Pos.Col)
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every error found in a fleet.yaml, sorted by position. It is
// the error Parse and Validate return, so a caller can both print it whole
// and inspect each problem.
type Problems []Problem

// Error prints one problem per line, in file order.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file position, then path and message, so
// output is deterministic.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

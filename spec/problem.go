package spec

import (
	"fmt"
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

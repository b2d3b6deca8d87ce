// Package cron is the one reading of the 5-field cron expressions that
// gitlab-runner's autoscaler policies take as periods: spec validates them
// with Problem, reconcile matches them against time with Compile.
//
// Fields are minute, hour, day of month, month and day of week, each a
// list of *, values, ranges a-b and steps /n, with month and day names and
// the macros @yearly … @hourly; day of month also takes ? L LW and nW, day
// of week ? nL and n#k. Day of month and day of week, when both are
// restricted, match when either does.
package cron

import (
	"fmt"
	"strconv"
	"strings"
)

// field describes one field of an expression.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
	// extra admits the field's special forms: ? L W for day of month,
	// ? L # for day of week.
	extra string
}

const (
	minute = iota
	hour
	dayOfMonth
	month
	dayOfWeek
)

var fields = []field{
	minute:     {name: "minute", min: 0, max: 59},
	hour:       {name: "hour", min: 0, max: 23},
	dayOfMonth: {name: "day of month", min: 1, max: 31, extra: "dom"},
	month:      {name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	dayOfWeek:  {name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, extra: "dow"},
}

var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// split returns the expression's five fields, lower case, macros expanded.
func split(expr string) []string {
	e := strings.ToLower(strings.TrimSpace(expr))
	if m, ok := macros[e]; ok {
		e = m
	}
	return strings.Fields(e)
}

func (f field) value(s string) (int, bool) {
	for i, name := range f.names {
		if s == name {
			return f.min + i, true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min || n > f.max {
		return 0, false
	}
	return n, true
}

// Problem explains what is wrong with an expression, or returns "".
func Problem(expr string) string {
	if _, ok := macros[strings.ToLower(strings.TrimSpace(expr))]; ok {
		return ""
	}
	fs := split(expr)
	if len(fs) != 5 {
		return fmt.Sprintf("%q has %d fields; write 5: minute hour day-of-month month day-of-week, e.g. \"* 7-19 * * mon-fri\"", expr, len(strings.Fields(expr)))
	}
	orig := strings.Fields(expr)
	for i, text := range fs {
		if p := fields[i].problem(text); p != "" {
			return fmt.Sprintf("%q: %s field %q: %s", expr, fields[i].name, orig[i], p)
		}
	}
	return ""
}

func (f field) problem(text string) string {
	for _, item := range strings.Split(text, ",") {
		if p := f.itemProblem(item); p != "" {
			return p
		}
	}
	return ""
}

func (f field) itemProblem(item string) string {
	if item == "" {
		return "empty list entry"
	}
	switch {
	case f.extra == "dom" && (item == "?" || item == "l" || item == "lw"):
		return ""
	case f.extra == "dom" && strings.HasSuffix(item, "w"):
		if _, ok := f.value(strings.TrimSuffix(item, "w")); ok {
			return ""
		}
		return "W needs a day of month before it, e.g. 15W"
	case f.extra == "dow" && item == "?":
		return ""
	case f.extra == "dow" && strings.HasSuffix(item, "l"):
		if _, ok := f.value(strings.TrimSuffix(item, "l")); ok {
			return ""
		}
		return "L needs a day of week before it, e.g. 5L"
	case f.extra == "dow" && strings.Contains(item, "#"):
		day, nth, _ := strings.Cut(item, "#")
		n, err := strconv.Atoi(nth)
		if _, ok := f.value(day); !ok || err != nil || n < 1 || n > 5 {
			return "write DAY#N with N from 1 to 5, e.g. 5#3 for the third Friday"
		}
		return ""
	}
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > f.max {
			return fmt.Sprintf("step %q must be a number from 1 to %d", step, f.max)
		}
	}
	if rng == "*" {
		return ""
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	l, ok := f.value(lo)
	if !ok {
		return f.valueHelp(lo)
	}
	if !isRange {
		return ""
	}
	h, ok := f.value(hi)
	if !ok {
		return f.valueHelp(hi)
	}
	if l > h {
		return fmt.Sprintf("range %s goes backwards: write the lower value first", rng)
	}
	return ""
}

func (f field) valueHelp(s string) string {
	msg := fmt.Sprintf("%q is not a valid %s: use %d to %d", s, f.name, f.min, f.max)
	if len(f.names) > 0 {
		msg += fmt.Sprintf(" or %s to %s", f.names[0], f.names[len(f.names)-1])
	}
	return msg + ", *, ranges a-b, steps */n and lists a,b"
}

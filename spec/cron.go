package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// cronField describes one field of a 5-field cron expression as
// gitlab-runner's parser (github.com/gorhill/cronexpr) reads it.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
	// extra admits the field's special forms: ? L W for day of month,
	// ? L # for day of week.
	extra string
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31, extra: "dom"},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, extra: "dow"},
}

var cronMacros = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// cronProblem explains what is wrong with a periods entry, or returns "".
func cronProblem(expr string) string {
	if cronMacros[strings.ToLower(strings.TrimSpace(expr))] {
		return ""
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return fmt.Sprintf("%q has %d fields; write 5: minute hour day-of-month month day-of-week, e.g. \"* 7-19 * * mon-fri\"", expr, len(fields))
	}
	for i, text := range fields {
		if p := cronFields[i].problem(strings.ToLower(text)); p != "" {
			return fmt.Sprintf("%q: %s field %q: %s", expr, cronFields[i].name, text, p)
		}
	}
	return ""
}

func (f cronField) problem(text string) string {
	for _, item := range strings.Split(text, ",") {
		if p := f.itemProblem(item); p != "" {
			return p
		}
	}
	return ""
}

func (f cronField) itemProblem(item string) string {
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

func (f cronField) value(s string) (int, bool) {
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

func (f cronField) valueHelp(s string) string {
	msg := fmt.Sprintf("%q is not a valid %s: use %d to %d", s, f.name, f.min, f.max)
	if len(f.names) > 0 {
		msg += fmt.Sprintf(" or %s to %s", f.names[0], f.names[len(f.names)-1])
	}
	return msg + ", *, ranges a-b, steps */n and lists a,b"
}

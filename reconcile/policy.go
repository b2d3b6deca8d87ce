package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/spec"
)

// PolicyMatch is the autoscaler policy in effect at one moment, as
// gitlab-runner chooses it: the last policy with a period that matches the
// minute in the policy's time zone; none matching means idle_count 0.
type PolicyMatch struct {
	// Index is the policy's index in fleet.yaml, -1 when none matched.
	Index     int    `json:"index"`
	Period    string `json:"period,omitempty"`
	Timezone  string `json:"timezone,omitempty"`
	IdleCount int    `json:"idle_count"`
}

// PolicyAt returns the policy in effect at t. A policy without a time zone
// uses UTC, the manager's time zone on Hetzner's images; one with an
// unknown time zone (validate refuses it) never matches.
func PolicyAt(policies []spec.Policy, t time.Time) PolicyMatch {
	return compilePolicies(policies).at(t)
}

// compiledPolicy is a policy with its time zone loaded and its periods
// parsed, to be matched minute after minute.
type compiledPolicy struct {
	index   int
	loc     *time.Location
	periods []string
	match   []func(time.Time) bool
	idle    int
}

type compiledPolicies []compiledPolicy

func compilePolicies(policies []spec.Policy) compiledPolicies {
	var out compiledPolicies
	for i, p := range policies {
		loc := time.UTC
		if p.Timezone != "" {
			l, err := time.LoadLocation(p.Timezone)
			if err != nil {
				continue
			}
			loc = l
		}
		cp := compiledPolicy{index: i, loc: loc, idle: p.IdleCount}
		for _, period := range p.Periods {
			cp.periods = append(cp.periods, period)
			cp.match = append(cp.match, compileCron(period))
		}
		out = append(out, cp)
	}
	return out
}

func (cps compiledPolicies) at(t time.Time) PolicyMatch {
	m := PolicyMatch{Index: -1}
	for _, p := range cps {
		local := t.In(p.loc)
		for j, match := range p.match {
			if match(local) {
				m = PolicyMatch{Index: p.index, Period: p.periods[j], Timezone: p.loc.String(), IdleCount: p.idle}
				break
			}
		}
	}
	return m
}

// compileCron returns cronMatches for one expression, with its plain
// fields (no L, W or #) turned into lookup tables.
func compileCron(expr string) func(time.Time) bool {
	e := strings.ToLower(strings.TrimSpace(expr))
	if m, ok := cronMacroExprs[e]; ok {
		e = m
	}
	f := strings.Fields(e)
	if len(f) != 5 {
		return func(time.Time) bool { return false }
	}
	var tables [5][]bool
	for idx, field := range f {
		if strings.ContainsAny(field, "lw#") {
			return func(t time.Time) bool { return cronMatches(expr, t) }
		}
		tables[idx] = make([]bool, cronMax[idx]+1)
		for v := cronMin[idx]; v <= cronMax[idx]; v++ {
			tables[idx][v] = cronFieldMatches(field, idx, v, time.Time{})
		}
	}
	domAny := f[2] == "*" || f[2] == "?"
	dowAny := f[4] == "*" || f[4] == "?"
	return func(t time.Time) bool {
		if !tables[0][t.Minute()] || !tables[1][t.Hour()] || !tables[3][int(t.Month())] {
			return false
		}
		dom, dow := tables[2][t.Day()], tables[4][int(t.Weekday())]
		switch {
		case domAny && dowAny:
			return true
		case domAny:
			return dow
		case dowAny:
			return dom
		}
		return dom || dow
	}
}

var cronMacroExprs = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var cronNames = [][]string{nil, nil, nil,
	{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
	{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}

var cronMin = []int{0, 0, 1, 1, 0}
var cronMax = []int{59, 23, 31, 12, 7}

// cronMatches reports whether the minute of t (in its own location) matches
// a 5-field cron expression as gitlab-runner reads periods. Day of month
// and day of week, when both are restricted, match when either does.
// spec validates the expressions; one that does not parse never matches.
func cronMatches(expr string, t time.Time) bool {
	e := strings.ToLower(strings.TrimSpace(expr))
	if m, ok := cronMacroExprs[e]; ok {
		e = m
	}
	f := strings.Fields(e)
	if len(f) != 5 {
		return false
	}
	values := []int{t.Minute(), t.Hour(), t.Day(), int(t.Month()), int(t.Weekday())}
	for _, idx := range []int{0, 1, 3} { // minute, hour, month
		if !cronFieldMatches(f[idx], idx, values[idx], t) {
			return false
		}
	}
	domAny := f[2] == "*" || f[2] == "?"
	dowAny := f[4] == "*" || f[4] == "?"
	dom := cronFieldMatches(f[2], 2, t.Day(), t)
	dow := cronFieldMatches(f[4], 4, int(t.Weekday()), t)
	switch {
	case domAny && dowAny:
		return true
	case domAny:
		return dow
	case dowAny:
		return dom
	}
	return dom || dow
}

func cronFieldMatches(field string, idx, v int, t time.Time) bool {
	for _, item := range strings.Split(field, ",") {
		if cronItemMatches(item, idx, v, t) {
			return true
		}
	}
	return false
}

func cronItemMatches(item string, idx, v int, t time.Time) bool {
	lastDay := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
	switch {
	case item == "?" || item == "*":
		return true
	case idx == 2 && item == "l":
		return t.Day() == lastDay
	case idx == 2 && item == "lw":
		return t.Day() == lastWeekday(t, lastDay)
	case idx == 2 && strings.HasSuffix(item, "w"):
		n, ok := cronValue(strings.TrimSuffix(item, "w"), idx)
		return ok && t.Day() == nearestWeekday(t, n, lastDay)
	case idx == 4 && strings.HasSuffix(item, "l"):
		n, ok := cronValue(strings.TrimSuffix(item, "l"), idx)
		return ok && int(t.Weekday()) == n%7 && t.Day()+7 > lastDay
	case idx == 4 && strings.Contains(item, "#"):
		day, nth, _ := strings.Cut(item, "#")
		n, ok := cronValue(day, idx)
		k, err := strconv.Atoi(nth)
		return ok && err == nil && int(t.Weekday()) == n%7 && (t.Day()-1)/7+1 == k
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		s, err := strconv.Atoi(stepText)
		if err != nil || s < 1 {
			return false
		}
		step = s
	}
	lo, hi := cronMin[idx], cronMax[idx]
	if rng != "*" {
		a, b, isRange := strings.Cut(rng, "-")
		l, ok := cronValue(a, idx)
		if !ok {
			return false
		}
		lo, hi = l, l
		if isRange {
			h, ok := cronValue(b, idx)
			if !ok {
				return false
			}
			hi = h
		} else if hasStep {
			hi = cronMax[idx]
		}
	}
	for x := lo; x <= hi; x += step {
		if x == v || (idx == 4 && x == 7 && v == 0) {
			return true
		}
	}
	return false
}

func cronValue(s string, idx int) (int, bool) {
	for i, name := range cronNames[idx] {
		if s == name {
			return cronMin[idx] + i, true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < cronMin[idx] || n > cronMax[idx] {
		return 0, false
	}
	return n, true
}

func lastWeekday(t time.Time, lastDay int) int {
	d := time.Date(t.Year(), t.Month(), lastDay, 0, 0, 0, 0, t.Location())
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, -1)
	}
	return d.Day()
}

func nearestWeekday(t time.Time, day, lastDay int) int {
	if day > lastDay {
		day = lastDay
	}
	d := time.Date(t.Year(), t.Month(), day, 0, 0, 0, 0, t.Location())
	switch d.Weekday() {
	case time.Saturday:
		if day == 1 {
			return 3
		}
		return day - 1
	case time.Sunday:
		if day == lastDay {
			return day - 2
		}
		return day + 1
	}
	return day
}

// String describes the match for people: "policy 1 (\"* 7-19 * * mon-fri\"
// in Europe/Berlin): idle_count 8".
func (m PolicyMatch) String() string {
	if m.Index < 0 {
		return "no policy matches now: idle_count 0"
	}
	return fmt.Sprintf("policy %d (%q in %s): idle_count %d", m.Index, m.Period, m.Timezone, m.IdleCount)
}

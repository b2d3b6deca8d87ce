package cron

import (
	"strconv"
	"strings"
	"time"
)

// Compile returns the matcher of an expression: whether the minute of t,
// in t's own location, is in the schedule. An expression that Problem
// refuses never matches. Plain fields (no L, W or #) are turned into
// lookup tables once, so that matching every minute of a week is cheap.
func Compile(expr string) func(time.Time) bool {
	fs := split(expr)
	if len(fs) != 5 || Problem(expr) != "" {
		return func(time.Time) bool { return false }
	}
	var tables [5][]bool
	for idx, text := range fs {
		if strings.ContainsAny(text, "lw#") {
			return func(t time.Time) bool { return matches(fs, t) }
		}
		tables[idx] = make([]bool, fields[idx].max+1)
		for v := fields[idx].min; v <= fields[idx].max; v++ {
			tables[idx][v] = fieldMatches(text, idx, v, time.Time{})
		}
	}
	domAny, dowAny := unrestricted(fs[dayOfMonth]), unrestricted(fs[dayOfWeek])
	return func(t time.Time) bool {
		if !tables[minute][t.Minute()] || !tables[hour][t.Hour()] || !tables[month][int(t.Month())] {
			return false
		}
		return days(domAny, dowAny, tables[dayOfMonth][t.Day()], tables[dayOfWeek][int(t.Weekday())])
	}
}

// Matches reports whether the minute of t, in its own location, is in the
// schedule of expr.
func Matches(expr string, t time.Time) bool { return Compile(expr)(t) }

func matches(fs []string, t time.Time) bool {
	values := []int{t.Minute(), t.Hour(), t.Day(), int(t.Month()), int(t.Weekday())}
	for _, idx := range []int{minute, hour, month} {
		if !fieldMatches(fs[idx], idx, values[idx], t) {
			return false
		}
	}
	dom := fieldMatches(fs[dayOfMonth], dayOfMonth, t.Day(), t)
	dow := fieldMatches(fs[dayOfWeek], dayOfWeek, int(t.Weekday()), t)
	return days(unrestricted(fs[dayOfMonth]), unrestricted(fs[dayOfWeek]), dom, dow)
}

func unrestricted(text string) bool { return text == "*" || text == "?" }

// days combines day of month and day of week as cron does: when both are
// restricted, either matching is enough.
func days(domAny, dowAny, dom, dow bool) bool {
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

func fieldMatches(text string, idx, v int, t time.Time) bool {
	for _, item := range strings.Split(text, ",") {
		if itemMatches(item, idx, v, t) {
			return true
		}
	}
	return false
}

func itemMatches(item string, idx, v int, t time.Time) bool {
	f := fields[idx]
	lastDay := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
	switch {
	case item == "?" || item == "*":
		return true
	case idx == dayOfMonth && item == "l":
		return t.Day() == lastDay
	case idx == dayOfMonth && item == "lw":
		return t.Day() == lastWeekday(t, lastDay)
	case idx == dayOfMonth && strings.HasSuffix(item, "w"):
		n, ok := f.value(strings.TrimSuffix(item, "w"))
		return ok && t.Day() == nearestWeekday(t, n, lastDay)
	case idx == dayOfWeek && strings.HasSuffix(item, "l"):
		n, ok := f.value(strings.TrimSuffix(item, "l"))
		return ok && int(t.Weekday()) == n%7 && t.Day()+7 > lastDay
	case idx == dayOfWeek && strings.Contains(item, "#"):
		day, nth, _ := strings.Cut(item, "#")
		n, ok := f.value(day)
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
	lo, hi := f.min, f.max
	if rng != "*" {
		a, b, isRange := strings.Cut(rng, "-")
		l, ok := f.value(a)
		if !ok {
			return false
		}
		lo, hi = l, l
		if isRange {
			h, ok := f.value(b)
			if !ok {
				return false
			}
			hi = h
		} else if hasStep {
			hi = f.max
		}
	}
	for x := lo; x <= hi; x += step {
		if x == v || (idx == dayOfWeek && x == 7 && v == 0) {
			return true
		}
	}
	return false
}

func lastWeekday(t time.Time, lastDay int) int {
	d := time.Date(t.Year(), t.Month(), lastDay, 0, 0, 0, 0, t.Location())
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, -1)
	}
	return d.Day()
}

// nearestWeekday is the weekday nearest to day within the month (nW).
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

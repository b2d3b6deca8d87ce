package cron

import (
	"testing"
	"time"
)

func TestProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{"* * * * *", true},
		{"* 7-19 * * mon-fri", true},
		{"*/15 8 1,15 jan-jun ?", true},
		{"0 12 L * *", true},
		{"0 12 15W * *", true},
		{"0 12 LW * *", true},
		{"30 6 * * 5#3", true},
		{"30 6 * * 5L", true},
		{"0 0 * * 7", true},
		{"0 0 * * SUN", true},
		{"0-59/5 0-23/2 1-31 1-12 0-6", true},
		{"5/15 * * * *", true},
		{"@daily", true},
		{"@hourly", true},
		{"", false},
		{"* * * *", false},
		{"0 * * * * *", false},
		{"60 * * * *", false},
		{"* 24 * * *", false},
		{"* * 0 * *", false},
		{"* * 32 * *", false},
		{"* * * 13 *", false},
		{"* * * * 8", false},
		{"* * * * fry", false},
		{"* * * smarch *", false},
		{"*/0 * * * *", false},
		{"*/x * * * *", false},
		{"19-7 * * * *", false},
		{"1,,2 * * * *", false},
		{"* * ? * *", true},
		{"? * * * *", false},
		{"* * * * 5#6", false},
		{"* * W * *", false},
		{"@often", false},
	} {
		if got := Problem(tc.expr) == ""; got != tc.ok {
			t.Errorf("Problem(%q) = %q, want ok=%v", tc.expr, Problem(tc.expr), tc.ok)
		}
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	for _, tc := range []struct {
		expr string
		at   string
		want bool
	}{
		{"*/15 * * * *", "2026-01-05 10:30", true},
		{"*/15 * * * *", "2026-01-05 10:31", false},
		{"0-29 8-17 * * 1-5", "2026-01-09 17:29", true}, // Friday
		{"0-29 8-17 * * 1-5", "2026-01-10 09:00", false},
		{"* * * * sat,sun", "2026-01-11 00:00", true},
		{"* * * * 7", "2026-01-11 00:00", true}, // 7 is Sunday too
		{"* * 1 jan *", "2026-01-01 12:00", true},
		{"* * 1 * mon", "2026-01-05 12:00", true}, // day of month or day of week
		{"* * L * *", "2026-02-28 12:00", true},
		{"* * * * 5L", "2026-01-30 12:00", true},
		{"* * * * 5#2", "2026-01-09 12:00", true},
		{"@daily", "2026-01-09 00:00", true},
		{"@daily", "2026-01-09 00:01", false},
		{"not cron", "2026-01-09 00:01", false},
	} {
		if got := Matches(tc.expr, at(tc.at)); got != tc.want {
			t.Errorf("Matches(%q, %s) = %v, want %v", tc.expr, tc.at, got, tc.want)
		}
	}
}

// TestCompileAgreesWithMatches: the lookup tables Compile builds for plain
// fields match exactly the minutes the field-by-field reading does, over a
// whole week.
func TestCompileAgreesWithMatches(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, expr := range []string{"* 7-19 * * mon-fri", "*/15 8-17 * * 1-5", "0 0 1,15 * *", "30 2 * jan,feb sun", "* * 9 * 5"} {
		compiled, fs := Compile(expr), split(expr)
		for m := 0; m < 7*24*60; m++ {
			at := start.Add(time.Duration(m) * time.Minute)
			if got, want := compiled(at), matches(fs, at); got != want {
				t.Fatalf("%q at %s: compiled %v, field by field %v", expr, at, got, want)
			}
		}
	}
}

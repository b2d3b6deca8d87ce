package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCIDRAndPort(t *testing.T) {
	t.Parallel()
	for cidr, ok := range map[string]bool{
		"0.0.0.0/0": true, "::/0": true, "203.0.113.0/24": true, "2001:db8::/32": true, "10.1.2.3/32": true,
		"10.1.2.3/24": false, "10.1.2.3": false, "2001:db8::1/32": false, "300.0.0.0/8": false, "any": false, "": false,
		"fe80::/10": true, "10.0.0.0/33": false,
	} {
		if got := cidrProblem(cidr) == ""; got != ok {
			t.Errorf("cidrProblem(%q) = %q, want ok=%v", cidr, cidrProblem(cidr), ok)
		}
	}
	for port, ok := range map[string]bool{
		"22": true, "1": true, "65535": true, "any": true, "8000-9000": true, "1-65535": true,
		"0": false, "65536": false, "022": false, "9000-8000": false, "80-80": false, "80-": false, "-80": false,
		"http": false, "": false, "22 ": false, "ANY": false,
	} {
		if got := portProblem(port) == ""; got != ok {
			t.Errorf("portProblem(%q) = %q, want ok=%v", port, portProblem(port), ok)
		}
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		suffix int
		ok     bool
	}{
		{"runner-manager", 0, true},
		{"runner-manager.ci.example.com", 0, true},
		{"a", 0, true},
		{"Runner1", 0, true},
		{strings.Repeat("a", 63), 0, true},
		{strings.Repeat("a", 64), 0, false},
		{strings.Repeat("a", 54), instanceSuffix, true},
		{strings.Repeat("a", 55), instanceSuffix, false},
		{"runner_manager", 0, false},
		{"-runner", 0, false},
		{"runner-", 0, false},
		{"runner..manager", 0, false},
		{"runner.", 0, false},
		{"", 0, false},
		{"runner manager", 0, false},
	} {
		if got := hostnameProblem(tc.name, tc.suffix) == ""; got != tc.ok {
			t.Errorf("hostnameProblem(%q, %d) = %q, want ok=%v", tc.name, tc.suffix, hostnameProblem(tc.name, tc.suffix), tc.ok)
		}
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	fields := sortedKeys(structFields(reflect.TypeOf(Policy{})))
	for in, want := range map[string]string{
		"idle_cout": "idle_count", "idleTime": "idle_time", "idle-time": "idle_time", "timezon": "timezone",
		"period": "periods", "zzz": "", "scale": "",
	} {
		if got := nearest(in, fields); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, hang or return an error
// other than Problems with positions; and that whatever it accepts also
// validates again and lints without panicking.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../examples/*/*.yaml")
	for _, path := range append(seeds, examples...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fleet, err := Parse("fuzz.yaml", data)
		if err != nil {
			problems, ok := err.(Problems)
			if !ok || len(problems) == 0 {
				t.Fatalf("error is %T, want non-empty Problems: %v", err, err)
			}
			for _, p := range problems {
				if p.File != "fuzz.yaml" || p.Message == "" || p.Warning {
					t.Fatalf("malformed problem: %#v", p)
				}
				if p.Pos.Line < 0 || p.Pos.Col < 0 {
					t.Fatalf("negative position: %#v", p)
				}
			}
			return
		}
		if err := fleet.Validate(); err != nil {
			t.Fatalf("Parse accepted a fleet that Validate refuses: %v", err)
		}
		for _, w := range fleet.Lint() {
			if !w.Warning {
				t.Fatalf("Lint returned a non-warning: %v", w)
			}
		}
		_ = fleet.Pos("gitlab_runner.runners[0].autoscaler.policy[0].idle_time")
	})
}

func TestSyntaxColumn(t *testing.T) {
	t.Parallel()
	data := []byte("a: 1\n\tb: 2\nc: [x\n  d: e: f\n  \"open\n")
	for _, tc := range []struct {
		line int
		msg  string
		want int
	}{
		{2, "found a tab character that violates indentation", 1},
		{1, "found a tab character that violates indentation", 0},
		{3, "did not find expected ',' or ']'", 4},
		{4, "mapping values are not allowed in this context", 4},
		{5, "found unexpected end of stream", 3},
		{5, "something else", 3},
		{99, "something else", 1},
		{0, "something else", 1},
	} {
		if got := syntaxColumn(data, tc.line, tc.msg); got != tc.want {
			t.Errorf("syntaxColumn(line %d, %q) = %d, want %d", tc.line, tc.msg, got, tc.want)
		}
	}
}

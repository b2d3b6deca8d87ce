package labelselector

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Selector
		wantErr string
	}{
		{name: "equals", in: "env=prod", want: Selector{{Key: "env", Op: Equals, Values: []string{"prod"}}}},
		{name: "double equals", in: "env==prod", want: Selector{{Key: "env", Op: Equals, Values: []string{"prod"}}}},
		{name: "not equals", in: "env!=prod", want: Selector{{Key: "env", Op: NotEquals, Values: []string{"prod"}}}},
		{name: "exists", in: "runner", want: Selector{{Key: "runner", Op: Exists}}},
		{name: "not exists", in: "!runner", want: Selector{{Key: "runner", Op: NotExists}}},
		{name: "in", in: "env in (a, b)", want: Selector{{Key: "env", Op: In, Values: []string{"a", "b"}}}},
		{name: "notin", in: "env notin (a,b)", want: Selector{{Key: "env", Op: NotIn, Values: []string{"a", "b"}}}},
		{name: "prefixed key and empty value", in: "fleetctl.io/fleet=,x", want: Selector{
			{Key: "fleetctl.io/fleet", Op: Equals, Values: []string{""}}, {Key: "x", Op: Exists}}},
		{name: "and with spaces", in: "k1==v, !k2 ,k3 in (x)", want: Selector{
			{Key: "k1", Op: Equals, Values: []string{"v"}}, {Key: "k2", Op: NotExists}, {Key: "k3", Op: In, Values: []string{"x"}}}},
		{name: "empty", in: " ", wantErr: `invalid label selector " ": a label selector must not be empty`},
		{name: "empty term", in: "a,,b", wantErr: `invalid label selector "a,,b": term 2 is empty: remove the extra comma`},
		{name: "trailing comma", in: "runner,", wantErr: `invalid label selector "runner,": term 2 is empty: remove the extra comma`},
		{name: "in without parentheses", in: "env in a",
			wantErr: `invalid label selector "env in a": "env in a" is not a selector term: write k=v, k!=v, k, !k, k in (a,b) or k notin (a,b), joined by commas`},
		{name: "unclosed", in: "env in (a, b",
			wantErr: `invalid label selector "env in (a, b": "env in (a, b" is not a selector term: write k=v, k!=v, k, !k, k in (a,b) or k notin (a,b), joined by commas`},
		{name: "empty set", in: "env in ()", wantErr: `invalid label selector "env in ()": "env in ()": empty value in the set`},
		{name: "bad operator", in: "runner~=yes",
			wantErr: `invalid label selector "runner~=yes": label key "runner~": the name must begin and end with a letter or digit and hold only letters, digits, -, _ and . (Hetzner's label rules)`},
		{name: "bad key", in: "-a=b", wantErr: `label key "-a": the name must begin`},
		{name: "upper-case prefix", in: "Example.com/x=y", wantErr: `label key "Example.com/x": the prefix before / must be a DNS subdomain`},
		{name: "bad value", in: "a=b c", wantErr: `label value "b c" must be empty or begin and end`},
		{name: "two values", in: "env=prod=x", wantErr: `label value "prod=x"`},
		{name: "two words", in: "env prod", wantErr: `"env prod" is not a selector term`},
		{name: "tilde", in: "env ~ prod", wantErr: `"env ~ prod" is not a selector term`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"runner": "", "env": "prod", "fleetctl.io/role": "manager"}
	tests := []struct {
		in   string
		want bool
	}{
		{"runner", true}, {"!runner", false}, {"missing", false}, {"!missing", true},
		{"env=prod", true}, {"env==prod", true}, {"env=dev", false},
		{"env!=prod", false}, {"env!=dev", true}, {"missing!=x", true},
		{"env in (prod, staging)", true}, {"env in (dev)", false}, {"missing in (a)", false},
		{"env notin (prod,staging)", false}, {"env notin (dev)", true}, {"missing notin (a)", true},
		{"runner,env=prod", true}, {"runner, env=dev", false}, {"env=prod,!runner", false},
		{"fleetctl.io/role=manager", true}, {"runner=", true},
	}
	for _, tt := range tests {
		sel, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := sel.Matches(labels); got != tt.want {
			t.Errorf("%q matches %v = %v, want %v", tt.in, labels, got, tt.want)
		}
	}
	if !Selector(nil).Matches(labels) {
		t.Error("the zero Selector matches nothing, want everything")
	}
}

func TestCheckKeyAndValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"runner", "", true},
		{"env", "prod", true},
		{"example.com/owner", "team-a_b.c", true},
		{"a.b-c_d", "A1", true},
		{strings.Repeat("k", 63), strings.Repeat("v", 63), true},
		{strings.Repeat("k", 64), "", false},
		{"k", strings.Repeat("v", 64), false},
		{"", "v", false},
		{"-k", "v", false},
		{"k-", "v", false},
		{"k", "-v", false},
		{"k", "v v", false},
		{"Example.com/k", "v", false},
		{"/k", "v", false},
		{"example.com/", "v", false},
		{"a/b/c", "v", false},
	} {
		kerr, verr := CheckKey(tc.key), CheckValue(tc.value)
		if got := kerr == nil && verr == nil; got != tc.ok {
			t.Errorf("label %q=%q: key %v, value %v; want ok=%v", tc.key, tc.value, kerr, verr, tc.ok)
		}
	}
}

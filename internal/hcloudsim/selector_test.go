package hcloudsim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    selector
		wantErr bool
	}{
		{name: "equals", in: "env=prod", want: selector{{key: "env", op: "=", values: []string{"prod"}}}},
		{name: "double equals", in: "env==prod", want: selector{{key: "env", op: "=", values: []string{"prod"}}}},
		{name: "not equals", in: "env!=prod", want: selector{{key: "env", op: "!=", values: []string{"prod"}}}},
		{name: "exists", in: "runner", want: selector{{key: "runner", op: "exists"}}},
		{name: "not exists", in: "!runner", want: selector{{key: "runner", op: "!exists"}}},
		{name: "in", in: "env in (a, b)", want: selector{{key: "env", op: "in", values: []string{"a", "b"}}}},
		{name: "notin", in: "env notin (a,b)", want: selector{{key: "env", op: "notin", values: []string{"a", "b"}}}},
		{name: "prefixed key and empty value", in: "fleetctl.io/fleet=,x", want: selector{
			{key: "fleetctl.io/fleet", op: "=", values: []string{""}}, {key: "x", op: "exists"}}},
		{name: "and", in: "k1==v,!k2,k3 in (x)", want: selector{
			{key: "k1", op: "=", values: []string{"v"}}, {key: "k2", op: "!exists"}, {key: "k3", op: "in", values: []string{"x"}}}},
		{name: "in without parentheses", in: "env in a", wantErr: true},
		{name: "empty expression", in: "a,,b", wantErr: true},
		{name: "bad key", in: "-a=b", wantErr: true},
		{name: "bad value", in: "a=b c", wantErr: true},
		{name: "unclosed", in: "env in (a", wantErr: true},
		{name: "two words", in: "env prod", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSelector(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseSelector(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(requirement{})); d != "" && !tt.wantErr {
				t.Errorf("parseSelector(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"env": "prod", "runner": ""}
	tests := []struct {
		in   string
		want bool
	}{
		{"env=prod", true}, {"env=dev", false}, {"env!=dev", true}, {"missing!=x", true},
		{"runner", true}, {"!runner", false}, {"!missing", true},
		{"env in (dev,prod)", true}, {"env notin (dev,prod)", false}, {"missing notin (a)", true}, {"missing in (a)", false},
		{"env=prod,!runner", false}, {"", true},
	}
	for _, tt := range tests {
		sel, err := parseSelector(tt.in)
		if tt.in == "" {
			sel, err = nil, nil
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := sel.matches(labels); got != tt.want {
			t.Errorf("%q matches %v = %v, want %v", tt.in, labels, got, tt.want)
		}
	}
}

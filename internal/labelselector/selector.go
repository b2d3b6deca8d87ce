// Package labelselector parses Hetzner Cloud label selectors and evaluates
// them against label sets, and checks label keys and values by Hetzner's
// rules.
package labelselector

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Operator is how a Requirement compares a label.
type Operator int

// The operators of Hetzner's label selector language.
const (
	Equals    Operator = iota // k=v, k==v
	NotEquals                 // k!=v
	Exists                    // k
	NotExists                 // !k
	In                        // k in (a,b)
	NotIn                     // k notin (a,b)
)

// Requirement is one comma-separated term of a selector. Values holds one
// value for Equals and NotEquals, none for Exists and NotExists.
type Requirement struct {
	Key    string
	Op     Operator
	Values []string
}

// Selector is a parsed label selector: requirements that must all hold. The
// zero Selector matches every label set.
type Selector []Requirement

// Parse parses Hetzner's label selector language: terms joined by commas
// (and), each k=v, k==v, k!=v, k, !k, k in (a,b) or k notin (a,b). The
// error names the selector and the term or key that is wrong.
func Parse(s string) (Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("invalid label selector %q: a label selector must not be empty", s)
	}
	var sel Selector
	for i, term := range splitTerms(s) {
		term = strings.TrimSpace(term)
		if term == "" {
			return nil, fmt.Errorf("invalid label selector %q: term %d is empty: remove the extra comma", s, i+1)
		}
		r, err := parseRequirement(term)
		if err != nil {
			return nil, fmt.Errorf("invalid label selector %q: %w", s, err)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// Matches reports whether labels satisfy every requirement of s.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s {
		v, has := labels[r.Key]
		var ok bool
		switch r.Op {
		case Equals:
			ok = has && v == r.Values[0]
		case NotEquals:
			ok = !has || v != r.Values[0]
		case Exists:
			ok = has
		case NotExists:
			ok = !has
		case In:
			ok = has && slices.Contains(r.Values, v)
		case NotIn:
			ok = !has || !slices.Contains(r.Values, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// splitTerms splits at commas outside parentheses.
func splitTerms(s string) []string {
	var terms []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				terms = append(terms, s[start:i])
				start = i + 1
			}
		}
	}
	return append(terms, s[start:])
}

var setTerm = regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\((.*)\)$`)

func parseRequirement(term string) (Requirement, error) {
	if m := setTerm.FindStringSubmatch(term); m != nil {
		if err := CheckKey(m[1]); err != nil {
			return Requirement{}, err
		}
		r := Requirement{Key: m[1], Op: In}
		if m[2] == "notin" {
			r.Op = NotIn
		}
		for _, v := range strings.Split(m[3], ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return Requirement{}, fmt.Errorf("%q: empty value in the set", term)
			}
			if err := CheckValue(v); err != nil {
				return Requirement{}, err
			}
			r.Values = append(r.Values, v)
		}
		return r, nil
	}
	for _, op := range []struct {
		text string
		op   Operator
	}{{"!=", NotEquals}, {"==", Equals}, {"=", Equals}} {
		if k, v, ok := strings.Cut(term, op.text); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if err := CheckKey(k); err != nil {
				return Requirement{}, err
			}
			if err := CheckValue(v); err != nil {
				return Requirement{}, err
			}
			return Requirement{Key: k, Op: op.op, Values: []string{v}}, nil
		}
	}
	if k, ok := strings.CutPrefix(term, "!"); ok {
		k = strings.TrimSpace(k)
		if err := CheckKey(k); err != nil {
			return Requirement{}, err
		}
		return Requirement{Key: k, Op: NotExists}, nil
	}
	if strings.ContainsAny(term, " ()") {
		return Requirement{}, fmt.Errorf("%q is not a selector term: write k=v, k!=v, k, !k, k in (a,b) or k notin (a,b), joined by commas", term)
	}
	if err := CheckKey(term); err != nil {
		return Requirement{}, err
	}
	return Requirement{Key: term, Op: Exists}, nil
}

package hcloudsim

import (
	"fmt"
	"slices"
	"strings"
)

// selector is a parsed Hetzner label selector: requirements joined by "and".
// The empty selector matches everything.
type selector []requirement

type requirement struct {
	key    string
	op     string // "=", "!=", "exists", "!exists", "in", "notin"
	values []string
}

func (s selector) matches(labels map[string]string) bool {
	for _, req := range s {
		v, ok := labels[req.key]
		switch req.op {
		case "=":
			if !ok || v != req.values[0] {
				return false
			}
		case "!=":
			if ok && v == req.values[0] {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		case "in":
			if !ok || !slices.Contains(req.values, v) {
				return false
			}
		case "notin":
			if ok && slices.Contains(req.values, v) {
				return false
			}
		}
	}
	return true
}

// parseSelector parses the grammar of Hetzner's label selectors: k=v, k==v,
// k!=v, k, !k, k in (a,b), k notin (a,b), joined by commas.
func parseSelector(text string) (selector, error) {
	var sel selector
	for _, expr := range splitTopLevel(text) {
		expr = strings.TrimSpace(expr)
		if expr == "" {
			return nil, fmt.Errorf("invalid label selector %q: empty expression", text)
		}
		req, err := parseRequirement(expr)
		if err != nil {
			return nil, fmt.Errorf("invalid label selector %q: %w", text, err)
		}
		sel = append(sel, req)
	}
	return sel, nil
}

// splitTopLevel splits at commas outside parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func parseRequirement(expr string) (requirement, error) {
	if k, ok := strings.CutPrefix(expr, "!"); ok && !strings.Contains(k, "=") {
		k = strings.TrimSpace(k)
		if err := checkLabelKey(k); err != nil {
			return requirement{}, err
		}
		return requirement{key: k, op: "!exists"}, nil
	}
	for _, op := range []string{"!=", "==", "="} {
		if k, v, ok := strings.Cut(expr, op); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if err := checkLabelKey(k); err != nil {
				return requirement{}, err
			}
			if err := checkLabelValue(v); err != nil {
				return requirement{}, err
			}
			if op == "==" {
				op = "="
			}
			return requirement{key: k, op: op, values: []string{v}}, nil
		}
	}
	fields := strings.Fields(expr)
	if len(fields) == 1 {
		if err := checkLabelKey(fields[0]); err != nil {
			return requirement{}, err
		}
		return requirement{key: fields[0], op: "exists"}, nil
	}
	if len(fields) >= 2 && (fields[1] == "in" || fields[1] == "notin") {
		k, op := fields[0], fields[1]
		rest := strings.TrimSpace(strings.Join(fields[2:], " "))
		if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
			return requirement{}, fmt.Errorf("%q: expected a parenthesised list of values after %s", expr, op)
		}
		if err := checkLabelKey(k); err != nil {
			return requirement{}, err
		}
		var values []string
		for _, v := range strings.Split(rest[1:len(rest)-1], ",") {
			v = strings.TrimSpace(v)
			if err := checkLabelValue(v); err != nil {
				return requirement{}, err
			}
			values = append(values, v)
		}
		return requirement{key: k, op: op, values: values}, nil
	}
	return requirement{}, fmt.Errorf("%q is not a valid expression", expr)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkLabelName checks the name segment of a key or a value: at most 63
// characters, alphanumeric at both ends, '-', '_', '.' between.
func checkLabelName(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	if len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func checkLabelKey(k string) error {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if !checkLabelName(name, false) {
		return fmt.Errorf("label key %q is invalid", k)
	}
	if hasPrefix {
		if prefix == "" || len(prefix) > 253 {
			return fmt.Errorf("label key %q has an invalid prefix", k)
		}
		for _, l := range strings.Split(prefix, ".") {
			if l == "" || len(l) > 63 || !isAlnum(l[0]) || !isAlnum(l[len(l)-1]) || strings.ContainsFunc(l, func(r rune) bool {
				return !(r < 128 && isAlnum(byte(r)) || r == '-')
			}) {
				return fmt.Errorf("label key %q has an invalid prefix", k)
			}
		}
	}
	return nil
}

func checkLabelValue(v string) error {
	if !checkLabelName(v, true) {
		return fmt.Errorf("label value %q is invalid", v)
	}
	return nil
}

// checkLabels validates labels of a create or update request.
func checkLabels(labels map[string]string) *apiError {
	for _, k := range sortedKeys(labels) {
		if err := checkLabelKey(k); err != nil {
			return errField("labels", err.Error())
		}
		if strings.HasPrefix(k, "hetzner.cloud/") {
			return errField("labels", fmt.Sprintf("label key %q uses the reserved prefix hetzner.cloud/", k))
		}
		if err := checkLabelValue(labels[k]); err != nil {
			return errField("labels", err.Error())
		}
	}
	return nil
}

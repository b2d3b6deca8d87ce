package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Hetzner's label rules, as its API documentation states them: a key is an
// optional DNS-subdomain prefix and "/", then a name of at most 63
// characters; a value is at most 63 characters. Names and values begin and
// end with [a-z0-9A-Z] and may hold - _ . in between; a value may be empty.
var (
	labelName      = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$`)
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	hostnameLabel  = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)
	reservedPrefix = []string{"fleetctl.io/", "hetzner.cloud/"}
)

// labelKeyProblem explains what is wrong with a label key, or returns "".
func labelKeyProblem(key string) string {
	if key == "" {
		return "a label key must not be empty"
	}
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix {
		if prefix == "" || len(prefix) > 253 || !isDNSSubdomain(prefix) {
			return fmt.Sprintf("label key %q: the prefix before / must be a DNS subdomain such as example.com (lower case, at most 253 characters)", key)
		}
	}
	if len(name) > 63 {
		return fmt.Sprintf("label key %q: the name after the prefix is %d characters; Hetzner allows at most 63", key, len(name))
	}
	if !labelName.MatchString(name) {
		return fmt.Sprintf("label key %q: the name must begin and end with a letter or digit and hold only letters, digits, -, _ and . (Hetzner's label rules)", key)
	}
	return ""
}

// labelValueProblem explains what is wrong with a label value, or returns "".
func labelValueProblem(value string) string {
	if value == "" {
		return ""
	}
	if len(value) > 63 {
		return fmt.Sprintf("label value is %d characters; Hetzner allows at most 63", len(value))
	}
	if !labelName.MatchString(value) {
		return fmt.Sprintf("label value %q must be empty or begin and end with a letter or digit and hold only letters, digits, -, _ and . (Hetzner's label rules)", value)
	}
	return ""
}

func isDNSSubdomain(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if len(part) > 63 || !dnsLabel.MatchString(part) {
			return false
		}
	}
	return true
}

// hostnameProblem checks an RFC 1123 hostname, as Hetzner requires of server
// names. suffix is appended to the last label before checking (instances get
// "-" and 8 hex digits).
func hostnameProblem(name string, suffix int) string {
	if name == "" {
		return "must not be empty"
	}
	if len(name)+suffix > 253 {
		return fmt.Sprintf("%q is too long for a hostname (at most 253 characters)", name)
	}
	labels := strings.Split(name, ".")
	for i, label := range labels {
		if !hostnameLabel.MatchString(label) {
			return fmt.Sprintf("%q is not a valid hostname (RFC 1123): use letters, digits and -, not starting or ending with -, e.g. runner-manager", name)
		}
		extra := 0
		if i == len(labels)-1 {
			extra = suffix
		}
		if len(label)+extra > 63 {
			if extra > 0 {
				return fmt.Sprintf("%q is too long: instance names are this prefix plus \"-\" and 8 hex digits, and a hostname label holds at most 63 characters, so keep it to %d", name, 63-extra)
			}
			return fmt.Sprintf("%q has a label longer than 63 characters, which RFC 1123 hostnames do not allow", name)
		}
	}
	return ""
}

// cidrProblem checks one entry of source_ips or destination_ips.
func cidrProblem(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if addr, aerr := netip.ParseAddr(s); aerr == nil {
			return fmt.Sprintf("%q has no prefix length: write %s/%d", s, s, addr.BitLen())
		}
		return fmt.Sprintf("%q is not a CIDR: write an address and prefix length such as 203.0.113.0/24, 0.0.0.0/0 or ::/0", s)
	}
	if p.Addr().Zone() != "" {
		return fmt.Sprintf("%q has a zone, which Hetzner does not accept", s)
	}
	if masked := p.Masked(); masked != p {
		return fmt.Sprintf("%q is not a network address: Hetzner requires the host bits to be zero; write %s", s, masked)
	}
	return ""
}

// portProblem checks a firewall rule's port: "N", "N-M" or "any".
func portProblem(s string) string {
	if s == "any" {
		return ""
	}
	parse := func(p string) (int, bool) {
		n, err := strconv.Atoi(p)
		if err != nil || strconv.Itoa(n) != p || n < 1 || n > 65535 {
			return 0, false
		}
		return n, true
	}
	const how = `a port is "22", a range "8000-9000" (1 to 65535) or "any"`
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		if _, ok := parse(s); !ok {
			return fmt.Sprintf("%q is not a port: %s", s, how)
		}
		return ""
	}
	l, ok1 := parse(lo)
	h, ok2 := parse(hi)
	if !ok1 || !ok2 {
		return fmt.Sprintf("%q is not a port range: %s", s, how)
	}
	if l >= h {
		return fmt.Sprintf("port range %q must go from the lower to the higher port, e.g. \"%d-%d\"", s, min(l, h), max(l, h))
	}
	return ""
}

// selectorOp is one of Hetzner's label selector operators.
type selectorOp int

const (
	opEquals selectorOp = iota
	opNotEquals
	opExists
	opNotExists
	opIn
	opNotIn
)

// requirement is one comma-separated term of a label selector.
type requirement struct {
	key    string
	op     selectorOp
	values []string
}

// parseSelector parses Hetzner's label selector language: terms joined by
// commas (and), each k=v, k==v, k!=v, k, !k, k in (a,b) or k notin (a,b).
func parseSelector(s string) ([]requirement, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("a label selector must not be empty")
	}
	var reqs []requirement
	for _, term := range splitSelector(s) {
		term = strings.TrimSpace(term)
		r, err := parseRequirement(term)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

// splitSelector splits at commas outside parentheses.
func splitSelector(s string) []string {
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

func parseRequirement(term string) (requirement, error) {
	if term == "" {
		return requirement{}, fmt.Errorf("empty term: remove the extra comma")
	}
	checkKey := func(k string) error {
		if p := labelKeyProblem(k); p != "" {
			return fmt.Errorf("%s", p)
		}
		return nil
	}
	checkValue := func(v string) error {
		if p := labelValueProblem(v); p != "" {
			return fmt.Errorf("%s", p)
		}
		return nil
	}
	if m := setTerm.FindStringSubmatch(term); m != nil {
		if err := checkKey(m[1]); err != nil {
			return requirement{}, err
		}
		r := requirement{key: m[1], op: opIn}
		if m[2] == "notin" {
			r.op = opNotIn
		}
		for _, v := range strings.Split(m[3], ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return requirement{}, fmt.Errorf("%q: empty value in the set", term)
			}
			if err := checkValue(v); err != nil {
				return requirement{}, err
			}
			r.values = append(r.values, v)
		}
		return r, nil
	}
	for _, op := range []struct {
		text string
		op   selectorOp
	}{{"!=", opNotEquals}, {"==", opEquals}, {"=", opEquals}} {
		if k, v, ok := strings.Cut(term, op.text); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if err := checkKey(k); err != nil {
				return requirement{}, err
			}
			if err := checkValue(v); err != nil {
				return requirement{}, err
			}
			if strings.ContainsAny(v, "=!(), ") {
				return requirement{}, fmt.Errorf("%q: unexpected characters in the value", term)
			}
			return requirement{key: k, op: op.op, values: []string{v}}, nil
		}
	}
	if k, ok := strings.CutPrefix(term, "!"); ok {
		k = strings.TrimSpace(k)
		if err := checkKey(k); err != nil {
			return requirement{}, err
		}
		return requirement{key: k, op: opNotExists}, nil
	}
	if strings.ContainsAny(term, " ()") {
		return requirement{}, fmt.Errorf("%q is not a selector term: write k=v, k!=v, k, !k, k in (a,b) or k notin (a,b), joined by commas", term)
	}
	if err := checkKey(term); err != nil {
		return requirement{}, err
	}
	return requirement{key: term, op: opExists}, nil
}

// selectorMatches evaluates a parsed selector against a label set.
func selectorMatches(reqs []requirement, labels map[string]string) bool {
	for _, r := range reqs {
		v, has := labels[r.key]
		var ok bool
		switch r.op {
		case opEquals:
			ok = has && v == r.values[0]
		case opNotEquals:
			ok = !has || v != r.values[0]
		case opExists:
			ok = has
		case opNotExists:
			ok = !has
		case opIn:
			ok = has && contains(r.values, v)
		case opNotIn:
			ok = !has || !contains(r.values, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

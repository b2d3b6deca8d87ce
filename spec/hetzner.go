package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/fleetctl/fleetctl/internal/labelselector"
)

var hostnameLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)

// reservedPrefix lists the label key prefixes a fleet file may not set itself.
var reservedPrefix = []string{"fleetctl.io/", "hetzner.cloud/"}

// labelKeyProblem explains what is wrong with a label key, or returns "".
func labelKeyProblem(key string) string {
	if err := labelselector.CheckKey(key); err != nil {
		return err.Error()
	}
	return ""
}

// labelValueProblem explains what is wrong with a label value, or returns "".
func labelValueProblem(value string) string {
	if err := labelselector.CheckValue(value); err != nil {
		return err.Error()
	}
	return ""
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

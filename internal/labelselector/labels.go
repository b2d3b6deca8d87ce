package labelselector

import (
	"fmt"
	"regexp"
	"strings"
)

// Hetzner's label rules, as its API documentation states them: a key is an
// optional DNS-subdomain prefix and "/", then a name of at most 63
// characters; a value is at most 63 characters. Names and values begin and
// end with [a-z0-9A-Z] and may hold - _ . in between; a value may be empty.
var (
	labelName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$`)
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
)

// CheckKey returns an error that explains what is wrong with a label key, or
// nil when Hetzner accepts it.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("a label key must not be empty")
	}
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix && (prefix == "" || len(prefix) > 253 || !isDNSSubdomain(prefix)) {
		return fmt.Errorf("label key %q: the prefix before / must be a DNS subdomain such as example.com (lower case, at most 253 characters)", key)
	}
	if len(name) > 63 {
		return fmt.Errorf("label key %q: the name after the prefix is %d characters; Hetzner allows at most 63", key, len(name))
	}
	if !labelName.MatchString(name) {
		return fmt.Errorf("label key %q: the name must begin and end with a letter or digit and hold only letters, digits, -, _ and . (Hetzner's label rules)", key)
	}
	return nil
}

// CheckValue returns an error that explains what is wrong with a label value,
// or nil when Hetzner accepts it. The empty value is valid.
func CheckValue(value string) error {
	if value == "" {
		return nil
	}
	if len(value) > 63 {
		return fmt.Errorf("label value is %d characters; Hetzner allows at most 63", len(value))
	}
	if !labelName.MatchString(value) {
		return fmt.Errorf("label value %q must be empty or begin and end with a letter or digit and hold only letters, digits, -, _ and . (Hetzner's label rules)", value)
	}
	return nil
}

func isDNSSubdomain(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if len(part) > 63 || !dnsLabel.MatchString(part) {
			return false
		}
	}
	return true
}

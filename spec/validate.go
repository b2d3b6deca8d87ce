package spec

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	_ "time/tzdata" // timezones load on machines without a zoneinfo database

	"github.com/fleetctl/fleetctl/internal/labelselector"
	"golang.org/x/crypto/ssh"
)

// Accepted values, as gitlab-runner reads them.
var (
	// logrus.ParseLevel, which gitlab-runner's log_level goes through.
	logLevels = []string{"trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"}
	// gitlab-runner's log package formats.
	logFormats  = []string{"runner", "text", "json"}
	executors   = []string{"docker-autoscaler", "instance", "docker", "docker-windows", "shell", "ssh", "kubernetes", "custom", "parallels", "virtualbox", "docker+machine"}
	pullPolicy  = []string{"always", "never", "if-not-present"}
	protocols   = []string{"tcp", "udp", "icmp", "esp", "gre"}
	connectorOS = []string{"linux", "windows", "darwin"}
	archs       = []string{"amd64", "arm64", "386", "arm"}
)

var (
	envName            = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fleetName          = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	hetznerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	pluginTag          = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	unixUser           = regexp.MustCompile(`^[a-z_][a-z0-9_-]*[$]?$`)
	memorySize         = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*([kKmMgGtTpP]?[iI]?[bB]?)$`)
	bucketName         = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Validate checks everything that needs no network and returns every
// problem at once as Problems, or nil. Warnings are Lint's.
func (f *Fleet) Validate() error {
	ps := f.validate()
	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return Problems(ps)
}

type checker struct {
	f        *Fleet
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.f.Source, Pos: c.f.Pos(path), Path: path, Message: capMessage(fmt.Sprintf(format, args...))})
}

func (c *checker) required(path, value, example string) bool {
	if strings.TrimSpace(value) == "" {
		c.add(path, "required: write %s", example)
		return false
	}
	return true
}

func (c *checker) oneOf(path, value string, allowed []string) {
	if value != "" && !contains(allowed, value) {
		msg := fmt.Sprintf("%q is not accepted: use one of %s", value, strings.Join(allowed, ", "))
		if best := nearest(value, allowed); best != "" {
			msg = fmt.Sprintf("%q is not accepted; did you mean %q? (one of %s)", value, best, strings.Join(allowed, ", "))
		}
		c.add(path, "%s", msg)
	}
}

func (c *checker) atLeast(path string, value, least int) {
	if value < least {
		c.add(path, "must be at least %d, not %d", least, value)
	}
}

func (c *checker) duration(path string, d Duration) {
	if d == "" {
		return
	}
	v, err := d.Value()
	if err != nil {
		if days, ok := strings.CutSuffix(string(d), "d"); ok {
			if n, err := strconv.Atoi(days); err == nil {
				c.add(path, "%q is not a Go duration: there is no unit d; write \"%dh\"", string(d), n*24)
				return
			}
		}
		c.add(path, "%q is not a Go duration: write a number with a unit, such as \"30s\", \"10m\" or \"1h30m\"", string(d))
		return
	}
	if v < 0 {
		c.add(path, "%q is negative: durations must be zero or more", string(d))
	}
}

func (c *checker) labels(path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		p := keyPath(path, k)
		if msg := labelKeyProblem(k); msg != "" {
			c.add(p, "%s", msg)
			continue
		}
		for _, reserved := range reservedPrefix {
			if strings.HasPrefix(k, reserved) {
				c.add(p, "label key %q: the %s prefix is reserved (fleetctl sets its ownership labels itself); choose another key", k, reserved)
			}
		}
		if msg := labelValueProblem(labels[k]); msg != "" {
			c.add(p, "%s", msg)
		}
	}
}

func (c *checker) secret(path string, s *Secret, example string) {
	if s == nil {
		return
	}
	switch {
	case s.Env == "" && s.File == "":
		c.add(path, "a secret needs env or file: write {env: %s} or {file: PATH}", example)
	case s.Env != "" && s.File != "":
		c.add(path, "a secret is either {env: NAME} or {file: PATH}, not both: remove one")
	case s.Env != "" && envName.MatchString(strings.Trim(s.Env, "${}")) && strings.HasPrefix(s.Env, "$"):
		c.add(joinPath(path, "env"), "write the variable's name without $: {env: %s}", strings.Trim(s.Env, "${}"))
	case s.Env != "" && !envName.MatchString(s.Env):
		// Never echo it: a literal secret written here is the likely mistake.
		c.add(joinPath(path, "env"), "must be an environment variable name such as %s (letters, digits and _, not starting with a digit); a literal secret must not be committed", example)
	case s.File != "" && strings.ContainsRune(s.File, 0):
		c.add(joinPath(path, "file"), "must be a file path")
	}
}

func (c *checker) hostname(path, name, example string, suffix int) {
	if !c.required(path, name, example) {
		return
	}
	if msg := hostnameProblem(name, suffix); msg != "" {
		c.add(path, "%s", msg)
	}
}

// hetznerName checks a server type, image or location name: Hetzner's are
// lower case, such as cpx21, debian-12, ubuntu-24.04 and hel1 (or an image ID).
func (c *checker) hetznerName(path, value, what, example string) {
	field := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	if !c.required(path, value, field+": "+example) {
		return
	}
	if !hetznerNamePattern.MatchString(value) {
		c.add(path, "%q is not a Hetzner %s name: they are lower case, e.g. %s", value, what, example)
	}
}

// given reports whether the field at path was written, or, for a Fleet
// built in code (no positions), whether it holds a value.
func (c *checker) given(path string, hasValue bool) bool {
	if c.f.positions == nil {
		return hasValue
	}
	return c.f.written(path)
}

func (f *Fleet) validate() []Problem {
	c := &checker{f: f}
	if f.Version != Version {
		if f.written("version") {
			c.add("version", "unsupported version %d: this fleetctl reads version: 1", f.Version)
		} else {
			c.add("version", "required: write version: 1 at the top of the file")
		}
	}
	if c.required("name", f.Name, "name: gitlab-ci (the fleet's name, set as label fleetctl.io/fleet on everything it owns)") {
		if len(f.Name) > 63 || !fleetName.MatchString(f.Name) {
			c.add("name", "%q: a fleet name is a Hetzner label value usable in resource names: at most 63 lower-case letters, digits and -, starting and ending with a letter or digit", f.Name)
		}
	}
	c.hcloud()
	sshKeys := c.sshKeys()
	c.firewalls()
	c.manager(sshKeys)
	c.gitlabRunner()
	c.upstreamSSHKeys(sshKeys)
	return c.problems
}

func (c *checker) hcloud() {
	h := c.f.HCloud
	c.secret("hcloud.token", h.Token, "HCLOUD_TOKEN")
	if h.Endpoint != "" {
		c.url("hcloud.endpoint", h.Endpoint, "https://api.hetzner.cloud/v1")
	}
}

func (c *checker) url(path, value, example string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		c.add(path, "%q is not an absolute http or https URL: write e.g. %s", value, example)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		c.add(path, "%q: remove the query or fragment; write e.g. %s", value, example)
	}
}

func (c *checker) sshKeys() map[string]bool {
	names := map[string]bool{}
	keys := map[string]string{} // key material → the entry that declared it
	for i, k := range c.f.SSHKeys {
		p := fmt.Sprintf("ssh_keys[%d]", i)
		if c.required(p+".name", k.Name, "name: dev") {
			c.resourceName(p+".name", k.Name, "ssh key")
			if names[k.Name] {
				c.add(p+".name", "ssh key %q is declared twice: names are unique in a Hetzner project", k.Name)
			}
			names[k.Name] = true
		}
		switch {
		case k.PublicKey == "" && k.PublicKeyFile == "":
			c.add(p, "write public_key_file: ~/.ssh/id_ed25519.pub (or public_key: \"ssh-ed25519 AAAA...\")")
		case k.PublicKey != "" && k.PublicKeyFile != "":
			c.add(p+".public_key", "write either public_key or public_key_file, not both")
		case strings.Contains(k.PublicKey, "PRIVATE KEY"):
			c.add(p+".public_key", "this is a private key: remove it from the file (and consider it exposed); paste the .pub file's line instead")
		case k.PublicKey != "":
			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
			if err != nil {
				c.add(p+".public_key", "not an OpenSSH public key: paste the one line of your .pub file, e.g. \"ssh-ed25519 AAAA... you@host\"")
				break
			}
			material := string(pub.Marshal())
			if other, dup := keys[material]; dup {
				c.add(p+".public_key", "the same key as %s: Hetzner accepts each public key once per project; declare it once", other)
			}
			keys[material] = p
		case strings.HasSuffix(k.PublicKeyFile, "id_ed25519") || strings.HasSuffix(k.PublicKeyFile, "id_rsa") || strings.HasSuffix(k.PublicKeyFile, "id_ecdsa"):
			c.add(p+".public_key_file", "%q looks like a private key: use the public key, %s.pub", k.PublicKeyFile, k.PublicKeyFile)
		}
		c.labels(p+".labels", k.Labels)
	}
	return names
}

// resourceName checks a Hetzner SSH key or firewall name.
func (c *checker) resourceName(path, name, what string) {
	if len(name) > 64 {
		c.add(path, "%s name is %d characters: keep it to 64", what, len(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			c.add(path, "%s name must not contain control characters", what)
			return
		}
	}
	if strings.TrimSpace(name) != name {
		c.add(path, "%s name %q must not begin or end with spaces", what, name)
	}
}

func (c *checker) firewalls() {
	names := map[string]bool{}
	for i, fw := range c.f.Firewalls {
		p := fmt.Sprintf("firewalls[%d]", i)
		if c.required(p+".name", fw.Name, "name: runner") {
			c.resourceName(p+".name", fw.Name, "firewall")
			if names[fw.Name] {
				c.add(p+".name", "firewall %q is declared twice: names are unique in a Hetzner project", fw.Name)
			}
			names[fw.Name] = true
		}
		c.labels(p+".labels", fw.Labels)
		for j, r := range fw.Rules {
			c.firewallRule(fmt.Sprintf("%s.rules[%d]", p, j), r)
		}
		for j, a := range fw.ApplyTo {
			sp := fmt.Sprintf("%s.apply_to[%d].label_selector", p, j)
			if !c.required(sp, a.LabelSelector, "label_selector: runner") {
				continue
			}
			if _, err := labelselector.Parse(a.LabelSelector); err != nil {
				c.add(sp, "%v", err)
			}
		}
	}
}

func (c *checker) firewallRule(p string, r FirewallRule) {
	if c.required(p+".direction", r.Direction, "direction: in (or out)") {
		c.oneOf(p+".direction", r.Direction, []string{"in", "out"})
	}
	if c.required(p+".protocol", r.Protocol, "protocol: tcp (or udp, icmp, esp, gre)") {
		c.oneOf(p+".protocol", r.Protocol, protocols)
	}
	switch {
	case r.Protocol == "tcp" || r.Protocol == "udp":
		if r.Port == "" {
			c.add(p+".port", "required for protocol %s: write port: \"22\", a range \"8000-9000\" or \"any\"", r.Protocol)
		} else if msg := portProblem(r.Port); msg != "" {
			c.add(p+".port", "%s", msg)
		}
	case r.Port != "" && contains(protocols, r.Protocol):
		c.add(p+".port", "protocol %s has no ports: remove port (ports are for tcp and udp)", r.Protocol)
	}
	if len(r.Description) > 255 {
		c.add(p+".description", "is %d characters: Hetzner allows at most 255", len(r.Description))
	}
	switch r.Direction {
	case "in":
		if len(r.SourceIPs) == 0 {
			c.add(p+".source_ips", "required for direction in: write e.g. source_ips: [0.0.0.0/0, \"::/0\"]")
		}
		if len(r.DestinationIPs) > 0 {
			c.add(p+".destination_ips", "only for direction out: an incoming rule matches source_ips")
		}
	case "out":
		if len(r.DestinationIPs) == 0 {
			c.add(p+".destination_ips", "required for direction out: write e.g. destination_ips: [0.0.0.0/0, \"::/0\"]")
		}
		if len(r.SourceIPs) > 0 {
			c.add(p+".source_ips", "only for direction in: an outgoing rule matches destination_ips")
		}
	}
	c.cidrs(p+".source_ips", r.SourceIPs)
	c.cidrs(p+".destination_ips", r.DestinationIPs)
}

func (c *checker) cidrs(path string, list []string) {
	if len(list) > 100 {
		c.add(path, "%d entries: Hetzner allows at most 100 per rule", len(list))
	}
	seen := map[string]bool{}
	for i, s := range list {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if msg := cidrProblem(s); msg != "" {
			c.add(ip, "%s", msg)
			continue
		}
		if seen[s] {
			c.add(ip, "%q is listed twice: remove one", s)
		}
		seen[s] = true
	}
}

func (c *checker) manager(sshKeys map[string]bool) {
	m := c.f.Manager
	if !c.given("manager", !reflect.ValueOf(m).IsZero()) {
		c.add("manager", "required: declare the runner-manager server (name, server_type, image, location)")
		return
	}
	c.hostname("manager.name", m.Name, "name: runner-manager", 0)
	if m.CreateBeforeDestroy && m.Name != "" && hostnameProblem(m.Name, 0) == "" {
		if hostnameProblem(TemporaryName(m.Name), 0) != "" {
			c.add("manager.name", "%q leaves no room for create_before_destroy, which creates the replacement as %q: "+
				"keep the name's last label to %d characters (and the name to %d)", m.Name, TemporaryName(m.Name),
				63-len(TemporaryNameSuffix), 253-len(TemporaryNameSuffix))
		}
	}
	c.hetznerName("manager.server_type", m.ServerType, "server type", "cpx11")
	c.hetznerName("manager.image", m.Image, "image", "debian-12")
	c.hetznerName("manager.location", m.Location, "location", "hel1")
	refs := map[string]bool{}
	for i, k := range m.SSHKeys {
		p := fmt.Sprintf("manager.ssh_keys[%d]", i)
		switch {
		case k == "":
			c.add(p, "must name a key declared under ssh_keys")
		case !sshKeys[k]:
			msg := fmt.Sprintf("ssh key %q is not declared: add it under ssh_keys (name: %s, public_key_file: ~/.ssh/id_ed25519.pub)", k, k)
			if best := nearest(k, sortedKeys(sshKeys)); best != "" {
				msg = fmt.Sprintf("ssh key %q is not declared under ssh_keys; did you mean %q?", k, best)
			}
			c.add(p, "%s", msg)
		case refs[k]:
			c.add(p, "ssh key %q is listed twice: remove one", k)
		}
		refs[k] = true
	}
	c.labels("manager.labels", m.Labels)
	if m.SSH.User != "" && !unixUser.MatchString(m.SSH.User) {
		c.add("manager.ssh.user", "%q is not a user name: write e.g. root", m.SSH.User)
	}
	if m.SSH.Port < 1 || m.SSH.Port > 65535 {
		c.add("manager.ssh.port", "must be a TCP port from 1 to 65535, not %d (default 22)", m.SSH.Port)
	}
	c.secret("manager.ssh.private_key", m.SSH.PrivateKey, "SSH_PRIVATE_KEY")
	if m.SpecPath != "" {
		c.specPath(m.SpecPath)
	}
}

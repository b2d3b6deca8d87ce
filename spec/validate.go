package spec

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
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

func (c *checker) gitlabRunner() {
	g := c.f.GitLabRunner
	if !c.given("gitlab_runner", !reflect.ValueOf(g).IsZero()) {
		c.add("gitlab_runner", "required: declare gitlab_runner with concurrent and runners (it becomes config.toml)")
		return
	}
	if !c.given("gitlab_runner.concurrent", g.Concurrent != 0) {
		c.add("gitlab_runner.concurrent", "required: write concurrent: 10 (how many jobs run at once over all runners)")
	} else {
		c.atLeast("gitlab_runner.concurrent", g.Concurrent, 1)
	}
	c.atLeast("gitlab_runner.check_interval", g.CheckInterval, 0)
	c.atLeast("gitlab_runner.shutdown_timeout", g.ShutdownTimeout, 0)
	c.oneOf("gitlab_runner.log_level", g.LogLevel, logLevels)
	c.oneOf("gitlab_runner.log_format", g.LogFormat, logFormats)
	if g.ListenAddress != "" {
		if _, port, err := net.SplitHostPort(g.ListenAddress); err != nil || !validPort(port) {
			c.add("gitlab_runner.listen_address", "%q must be host:port, e.g. \":9252\" or \"127.0.0.1:9252\"", g.ListenAddress)
		}
	}
	if len(g.Runners) == 0 {
		c.add("gitlab_runner.runners", "required: declare at least one runner (name, url, token)")
	}
	names := map[string]bool{}
	instanceNames := map[string]string{}
	for i := range g.Runners {
		r := &g.Runners[i]
		p := fmt.Sprintf("gitlab_runner.runners[%d]", i)
		if c.required(p+".name", r.Name, "name: hetzner-docker-autoscaler") {
			if msg := labelValueProblem(r.Name); msg != "" {
				c.add(p+".name", "runner name %q labels its instances (fleetctl.io/runner): %s", r.Name, msg)
			}
			if names[r.Name] {
				c.add(p+".name", "runner %q is declared twice: runner names are unique", r.Name)
			}
			names[r.Name] = true
		}
		c.runner(p, r, instanceNames)
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func (c *checker) runner(p string, r *Runner, instanceNames map[string]string) {
	if c.required(p+".url", r.URL, "url: https://gitlab.com") {
		c.url(p+".url", r.URL, "https://gitlab.com")
	}
	if !c.given(p+".token", r.Token != Secret{}) {
		c.add(p+".token", "required: write token: {env: RUNNER_TOKEN} (the runner authentication token, glrt-...)")
	} else {
		c.secret(p+".token", &r.Token, "RUNNER_TOKEN")
	}
	c.oneOf(p+".executor", r.Executor, executors)
	c.atLeast(p+".limit", r.Limit, 0)
	if c.given(p+".request_concurrency", r.RequestConcurrency != 0) {
		c.atLeast(p+".request_concurrency", r.RequestConcurrency, 1)
	}
	c.atLeast(p+".output_limit", r.OutputLimit, 0)
	for i, e := range r.Environment {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			c.add(fmt.Sprintf("%s.environment[%d]", p, i), "%q must be NAME=VALUE", e)
		}
	}
	if r.Docker != nil {
		c.docker(p+".docker", r.Docker)
	}
	if r.Cache != nil {
		c.cache(p+".cache", r.Cache)
	}
	autoscaled := r.Executor == "docker-autoscaler" || r.Executor == "instance"
	switch {
	case !contains(executors, r.Executor):
		// Reported above; whether an autoscaler belongs depends on the fix.
	case autoscaled && r.Autoscaler == nil:
		c.add(p+".autoscaler", "required for executor %s: declare autoscaler with capacity_per_instance, max_instances and instances", r.Executor)
	case !autoscaled && r.Autoscaler != nil:
		c.add(p+".autoscaler", "only for executors docker-autoscaler and instance, not %s: remove it or change executor", r.Executor)
	}
	if r.Autoscaler != nil {
		c.autoscaler(p+".autoscaler", r.Autoscaler, instanceNames)
	}
}

func (c *checker) docker(p string, d *Docker) {
	for i, pp := range d.PullPolicy {
		c.oneOf(fmt.Sprintf("%s.pull_policy[%d]", p, i), pp, pullPolicy)
	}
	if d.Memory != "" && !memorySize.MatchString(d.Memory) {
		c.add(p+".memory", "%q is not a memory size: write e.g. \"512m\" or \"2g\"", d.Memory)
	}
	if d.CPUs != "" {
		if v, err := strconv.ParseFloat(d.CPUs, 64); err != nil || v <= 0 || math.IsInf(v, 0) {
			c.add(p+".cpus", "%q is not a CPU count: write e.g. \"1.5\"", d.CPUs)
		}
	}
	if d.ShmSize < 0 {
		c.add(p+".shm_size", "must be zero or more bytes, not %d", d.ShmSize)
	}
	for i, v := range d.Volumes {
		if strings.TrimSpace(v) == "" {
			c.add(fmt.Sprintf("%s.volumes[%d]", p, i), "must not be empty: write e.g. /cache or /host/path:/container/path")
		}
	}
	for _, k := range sortedKeys(d.Tmpfs) {
		if !path.IsAbs(k) {
			c.add(keyPath(p+".tmpfs", k), "%q must be an absolute path in the container", k)
		}
	}
}

func (c *checker) cache(p string, cache *Cache) {
	if c.required(p+".type", cache.Type, "type: s3") && cache.Type != "s3" {
		c.add(p+".type", "%q is not offered: fleetctl configures the s3 cache (Hetzner Object Storage); write type: s3", cache.Type)
	}
	if cache.Type == "s3" && cache.S3 == nil {
		c.add(p+".s3", "required for type s3: declare server_address, bucket_name, access_key and secret_key")
	}
	if cache.S3 == nil {
		return
	}
	s3 := cache.S3
	sp := p + ".s3"
	if c.required(sp+".server_address", s3.ServerAddress, "server_address: fsn1.your-objectstorage.com") {
		if strings.Contains(s3.ServerAddress, "://") || strings.ContainsAny(s3.ServerAddress, "/ ") {
			c.add(sp+".server_address", "%q: gitlab-runner takes host[:port] without scheme or path, e.g. fsn1.your-objectstorage.com (set insecure: true for plain http)", s3.ServerAddress)
		} else if host, port, err := net.SplitHostPort(s3.ServerAddress); err == nil && (host == "" || !validPort(port)) {
			c.add(sp+".server_address", "%q must be host or host:port", s3.ServerAddress)
		}
	}
	if c.required(sp+".bucket_name", s3.BucketName, "bucket_name: runner-cache") && !bucketName.MatchString(s3.BucketName) {
		c.add(sp+".bucket_name", "%q is not an S3 bucket name: 3 to 63 lower-case letters, digits, . and -", s3.BucketName)
	}
	switch {
	case s3.AccessKey == nil && s3.SecretKey != nil:
		c.add(sp+".access_key", "required with secret_key: write access_key: {env: S3_ACCESS_KEY}")
	case s3.AccessKey != nil && s3.SecretKey == nil:
		c.add(sp+".secret_key", "required with access_key: write secret_key: {env: S3_SECRET_KEY}")
	}
	c.secret(sp+".access_key", s3.AccessKey, "S3_ACCESS_KEY")
	c.secret(sp+".secret_key", s3.SecretKey, "S3_SECRET_KEY")
}

func (c *checker) autoscaler(p string, a *Autoscaler, instanceNames map[string]string) {
	if a.Plugin != PluginFleetctl && a.Plugin != "" {
		ref, tag, hasTag := strings.Cut(a.Plugin, ":")
		if ref != UpstreamPlugin || (hasTag && !pluginTag.MatchString(tag)) {
			c.add(p+".plugin", "%q is not a plugin fleetctl can configure: write fleetctl (the default) or %s:latest (or another tag)", a.Plugin, UpstreamPlugin)
		}
	}
	if !c.given(p+".capacity_per_instance", a.CapacityPerInstance != 0) {
		c.add(p+".capacity_per_instance", "required: write capacity_per_instance: 4 (jobs one instance runs at once)")
	} else {
		c.atLeast(p+".capacity_per_instance", a.CapacityPerInstance, 1)
	}
	if a.MaxUseCount != nil {
		c.atLeast(p+".max_use_count", *a.MaxUseCount, 0)
	}
	if !c.given(p+".max_instances", true) {
		c.add(p+".max_instances", "required: write max_instances: 5 (the most instances this runner may create)")
	} else {
		c.atLeast(p+".max_instances", a.MaxInstances, 0)
	}
	c.duration(p+".instance_acquire_timeout", a.InstanceAcquireTimeout)
	c.duration(p+".update_interval", a.UpdateInterval)
	c.duration(p+".update_interval_when_expecting", a.UpdateIntervalWhenExpecting)
	if a.StateStorage != nil && a.StateStorage.Dir != "" {
		c.managerPath(p+".state_storage.dir", a.StateStorage.Dir, "/var/lib/gitlab-runner/state")
	}
	if a.ScaleThrottle != nil {
		c.atLeast(p+".scale_throttle.limit", a.ScaleThrottle.Limit, 0)
		c.atLeast(p+".scale_throttle.burst", a.ScaleThrottle.Burst, 0)
	}
	if cc := a.ConnectorConfig; cc != nil {
		cp := p + ".connector_config"
		c.oneOf(cp+".os", cc.OS, connectorOS)
		c.oneOf(cp+".arch", cc.Arch, archs)
		if cc.Protocol != "" && cc.Protocol != "ssh" {
			c.add(cp+".protocol", "%q is not supported: fleetctl's instances are reached over ssh; write protocol: ssh or leave it out", cc.Protocol)
		}
		if cc.ProtocolPort < 0 || cc.ProtocolPort > 65535 {
			c.add(cp+".protocol_port", "must be a TCP port from 1 to 65535 (0 means the protocol's default), not %d", cc.ProtocolPort)
		}
		if cc.UseStaticCredentials {
			if cc.Username == "" {
				c.add(cp+".username", "required with use_static_credentials: write username: root")
			}
			if cc.KeyPath == "" {
				c.add(cp+".key_path", "required with use_static_credentials: write key_path: /etc/gitlab-runner/instance_ed25519 (a private key on the manager)")
			}
		}
		if cc.KeyPath != "" {
			c.managerPath(cp+".key_path", cc.KeyPath, "/etc/gitlab-runner/instance_ed25519")
		}
		c.duration(cp+".keepalive", cc.Keepalive)
		c.duration(cp+".timeout", cc.Timeout)
		if cc.UseExternalAddr && a.Instances.PublicIPv4Disabled && a.Instances.PublicIPv6Disabled {
			c.add(cp+".use_external_addr", "instances have no public address (public_ipv4_disabled and public_ipv6_disabled): set use_external_addr: false to reach them on the private network")
		}
	}
	for i, pol := range a.Policy {
		c.policy(fmt.Sprintf("%s.policy[%d]", p, i), pol)
	}
	c.instances(p+".instances", &a.Instances, instanceNames)
}

func (c *checker) policy(p string, pol Policy) {
	for i, period := range pol.Periods {
		if msg := cronProblem(period); msg != "" {
			c.add(fmt.Sprintf("%s.periods[%d]", p, i), "%s", msg)
		}
	}
	if pol.Timezone != "" {
		if _, err := time.LoadLocation(pol.Timezone); err != nil || pol.Timezone == "Local" {
			c.add(p+".timezone", "%q is not a time zone: write an IANA name such as Europe/Berlin or UTC", pol.Timezone)
		}
	}
	c.atLeast(p+".idle_count", pol.IdleCount, 0)
	c.duration(p+".idle_time", pol.IdleTime)
	if v, err := pol.IdleTime.Value(); err == nil && pol.IdleTime != "" && v > 0 && v < time.Second {
		c.add(p+".idle_time", "%q is below gitlab-runner's minimum of 1s: write \"0s\" or at least \"1s\", e.g. \"20m\" (how long an idle instance is kept)", string(pol.IdleTime))
	}
	if pol.ScaleFactor < 0 {
		c.add(p+".scale_factor", "must be zero or more, not %v", pol.ScaleFactor)
	}
	c.atLeast(p+".scale_factor_limit", pol.ScaleFactorLimit, 0)
}

// instanceSuffix is what the plugin appends to instances.name: "-" and 8
// hex digits.
const instanceSuffix = 9

func (c *checker) instances(p string, in *Instances, instanceNames map[string]string) {
	if !c.given(p, !reflect.ValueOf(*in).IsZero()) {
		c.add(p, "required: declare instances with name, location, server_type and image (the servers the plugin creates)")
		return
	}
	c.hostname(p+".name", in.Name, "name: runner-docker-autoscaler", instanceSuffix)
	if in.Name != "" {
		if other, ok := instanceNames[in.Name]; ok {
			c.add(p+".name", "instance name %q is also used by %s: each runner's instances need their own name prefix", in.Name, other)
		}
		instanceNames[in.Name] = p
		if in.Name == c.f.Manager.Name {
			c.add(p+".name", "%q is the manager's name: give the instances another name prefix", in.Name)
		}
	}
	c.hetznerName(p+".location", in.Location, "location", "hel1")
	if len(in.ServerType) == 0 {
		c.add(p+".server_type", "required: write server_type: cpx21 (or a list to fall back through)")
	}
	seen := map[string]bool{}
	for i, st := range in.ServerType {
		sp := fmt.Sprintf("%s.server_type[%d]", p, i)
		if len(in.ServerType) == 1 && !c.f.written(sp) {
			sp = p + ".server_type"
		}
		c.hetznerName(sp, st, "server type", "cpx21")
		if seen[st] && st != "" {
			c.add(sp, "server type %q is listed twice: remove one", st)
		}
		seen[st] = true
	}
	c.hetznerName(p+".image", in.Image, "image", "debian-12")
	if len(in.UserData) > 32*1024 {
		c.add(p+".user_data", "is %d bytes: Hetzner accepts at most 32 KiB of user data", len(in.UserData))
	}
	c.labels(p+".labels", in.Labels)
	for i, n := range in.PrivateNetworks {
		if strings.TrimSpace(n) == "" {
			c.add(fmt.Sprintf("%s.private_networks[%d]", p, i), "must name a network or give its ID")
		}
	}
	if in.PublicIPv4Disabled && in.PublicIPv6Disabled && len(in.PrivateNetworks) == 0 {
		c.add(p+".private_networks", "required when both public_ipv4_disabled and public_ipv6_disabled are set: an instance without any network cannot be reached")
	}
	if in.VolumeSize != 0 && (in.VolumeSize < 10 || in.VolumeSize > 10240) {
		c.add(p+".volume_size", "must be 0 (no volume) or from 10 to 10240 GB, not %d", in.VolumeSize)
	}
}

// upstreamSSHKeys refuses an ssh key named like the instances of a runner
// that uses the upstream plugin: that plugin uploads its own key under the
// instances' name, and Hetzner allows a name once per project.
func (c *checker) upstreamSSHKeys(sshKeys map[string]bool) {
	for i, r := range c.f.GitLabRunner.Runners {
		if r.Autoscaler == nil || r.Autoscaler.UsesFleetctlPlugin() || !sshKeys[r.Autoscaler.Instances.Name] {
			continue
		}
		c.add(fmt.Sprintf("gitlab_runner.runners[%d].autoscaler.instances.name", i),
			"%q is also the name of an ssh key under ssh_keys: the upstream plugin uploads its own ssh key named after the instances, and Hetzner allows each name once; rename one of them", r.Autoscaler.Instances.Name)
	}
}

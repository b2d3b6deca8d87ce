package spec

import (
	"fmt"
	"math"
	"net"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/internal/cron"
)

// The checks of gitlab_runner: the global settings and each runner with
// its docker, cache, autoscaler, policy and instances sections.

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
		if msg := cron.Problem(period); msg != "" {
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

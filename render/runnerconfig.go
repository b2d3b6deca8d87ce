package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/fleetctl/fleetctl/spec"
)

// SecretFunc resolves a secret reference to its value. Errors must name the
// reference (the variable or file), never a value.
type SecretFunc func(spec.Secret) (string, error)

// MaskSecrets stands in for every secret with a placeholder that names the
// reference and holds no part of the value: `<masked: env RUNNER_TOKEN>`.
// The placeholder is an ordinary TOML string, so masked output is still a
// valid config.toml of the same shape.
func MaskSecrets(s spec.Secret) (string, error) {
	return "<masked: " + s.String() + ">", nil
}

// FieldError is a problem with one fleet.yaml field, such as a secret that
// does not resolve. Path is the field path as spec.Problem writes it, so a
// caller can add the field's position.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// defaultHCloudToken is what fleet.yaml's hcloud.token means when left out,
// as the hcloud CLI reads it.
var defaultHCloudToken = spec.Secret{Env: "HCLOUD_TOKEN"}

// RunnerConfig renders /etc/gitlab-runner/config.toml for the fleet, with
// secrets resolved through secret. The output is deterministic, holds only
// what fleet.yaml sets (plus the plugin settings fleetctl derives from it),
// and is encoded with the TOML library gitlab-runner decodes with.
func RunnerConfig(f *spec.Fleet, secret SecretFunc) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("render config.toml: no fleet")
	}
	cfg, long, err := buildConfig(f, secret)
	if err != nil {
		return nil, err
	}
	return encode(cfg, long)
}

// multiline collects strings that read better as TOML multi-line strings
// (user_data, scripts). The encoder only writes single-line strings, so each
// is rendered as a placeholder first and swapped in afterwards.
type multiline map[string]string

func (m multiline) add(s string) string {
	if !strings.Contains(s, "\n") || !utf8.ValidString(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	ph := fmt.Sprintf("fleetctl-multiline-%d-%s", len(m), hex.EncodeToString(sum[:8]))
	m[ph] = s
	return ph
}

func buildConfig(f *spec.Fleet, secret SecretFunc) (*Config, multiline, error) {
	g := f.GitLabRunner
	cfg := &Config{
		Concurrent:      g.Concurrent,
		CheckInterval:   g.CheckInterval,
		LogLevel:        g.LogLevel,
		LogFormat:       g.LogFormat,
		ListenAddress:   g.ListenAddress,
		ShutdownTimeout: g.ShutdownTimeout,
		Runners:         make([]Runner, 0, len(g.Runners)),
	}
	long := multiline{}
	for i := range g.Runners {
		r, err := buildRunner(f, &g.Runners[i], fmt.Sprintf("gitlab_runner.runners[%d]", i), secret, long)
		if err != nil {
			return nil, nil, err
		}
		cfg.Runners = append(cfg.Runners, r)
	}
	return cfg, long, nil
}

func buildRunner(f *spec.Fleet, sr *spec.Runner, path string, secret SecretFunc, long multiline) (Runner, error) {
	token, err := secret(sr.Token)
	if err != nil {
		return Runner{}, &FieldError{Path: path + ".token", Err: err}
	}
	r := Runner{
		Name:               sr.Name,
		URL:                sr.URL,
		Token:              token,
		Executor:           sr.Executor,
		Limit:              sr.Limit,
		RequestConcurrency: sr.RequestConcurrency,
		OutputLimit:        sr.OutputLimit,
		Environment:        sr.Environment,
	}
	if r.Executor == "" {
		r.Executor = spec.DefaultExecutor
	}
	if d := sr.Docker; d != nil {
		r.Docker = &Docker{
			Image:         d.Image,
			Privileged:    d.Privileged,
			Volumes:       d.Volumes,
			PullPolicy:    d.PullPolicy,
			AllowedImages: d.AllowedImages,
			Memory:        d.Memory,
			CPUs:          d.CPUs,
			ShmSize:       d.ShmSize,
			DisableCache:  d.DisableCache,
			NetworkMode:   d.NetworkMode,
			Tmpfs:         d.Tmpfs,
		}
	}
	if c := sr.Cache; c != nil {
		r.Cache, err = buildCache(c, path+".cache", secret)
		if err != nil {
			return Runner{}, err
		}
	}
	if a := sr.Autoscaler; a != nil {
		r.Autoscaler, err = buildAutoscaler(f, sr.Name, a, path+".autoscaler", secret, long)
		if err != nil {
			return Runner{}, err
		}
	}
	return r, nil
}

func buildCache(c *spec.Cache, path string, secret SecretFunc) (*Cache, error) {
	out := &Cache{Type: c.Type, Path: c.Path, Shared: c.Shared}
	if s3 := c.S3; s3 != nil {
		out.S3 = &CacheS3{
			ServerAddress:  s3.ServerAddress,
			BucketName:     s3.BucketName,
			BucketLocation: s3.BucketLocation,
			Insecure:       s3.Insecure,
		}
		var err error
		if s3.AccessKey != nil {
			if out.S3.AccessKey, err = secret(*s3.AccessKey); err != nil {
				return nil, &FieldError{Path: path + ".s3.access_key", Err: err}
			}
		}
		if s3.SecretKey != nil {
			if out.S3.SecretKey, err = secret(*s3.SecretKey); err != nil {
				return nil, &FieldError{Path: path + ".s3.secret_key", Err: err}
			}
		}
	}
	return out, nil
}

// usesFleetctlPlugin tells the two plugin modes apart: "" and "fleetctl"
// select fleetctl itself, "hetznercloud/fleeting-plugin-hetzner" with any
// tag or digest selects the upstream plugin.
func usesFleetctlPlugin(plugin string) (bool, error) {
	switch {
	case plugin == "" || plugin == spec.PluginFleetctl:
		return true, nil
	case plugin == spec.UpstreamPlugin,
		strings.HasPrefix(plugin, spec.UpstreamPlugin+":"),
		strings.HasPrefix(plugin, spec.UpstreamPlugin+"@"):
		return false, nil
	}
	return false, fmt.Errorf("unknown plugin %q: use %q or %q", plugin, spec.PluginFleetctl, spec.UpstreamPlugin+":latest")
}

func buildAutoscaler(f *spec.Fleet, runnerName string, a *spec.Autoscaler, path string, secret SecretFunc, long multiline) (*Autoscaler, error) {
	fleetctlPlugin, err := usesFleetctlPlugin(a.Plugin)
	if err != nil {
		return nil, &FieldError{Path: path + ".plugin", Err: err}
	}
	hcloudRef := defaultHCloudToken
	if f.HCloud.Token != nil {
		hcloudRef = *f.HCloud.Token
	}
	hcloudToken, err := secret(hcloudRef)
	if err != nil {
		return nil, &FieldError{Path: "hcloud.token", Err: err}
	}

	out := &Autoscaler{
		CapacityPerInstance:         a.CapacityPerInstance,
		MaxInstances:                a.MaxInstances,
		MaxUseCount:                 maxUseCount(a),
		InstanceReadyCommand:        long.add(a.InstanceReadyCommand),
		InstanceAcquireTimeout:      string(a.InstanceAcquireTimeout),
		UpdateInterval:              string(a.UpdateInterval),
		UpdateIntervalWhenExpecting: string(a.UpdateIntervalWhenExpecting),
		DeleteInstancesOnShutdown:   a.DeleteInstancesOnShutdown,
		LogInternalIP:               a.LogInternalIP,
		LogExternalIP:               a.LogExternalIP,
	}
	if fleetctlPlugin {
		specPath := f.Manager.SpecPath
		if specPath == "" {
			specPath = spec.DefaultSpecPath
		}
		out.Plugin = spec.DefaultPluginPath
		out.PluginConfig = &FleetctlPluginConfig{
			Spec:     specPath,
			Runner:   runnerName,
			Token:    hcloudToken,
			Endpoint: f.HCloud.Endpoint,
		}
	} else {
		in := a.Instances
		out.Plugin = a.Plugin
		out.PluginConfig = &HetznerPluginConfig{
			Name:               in.Name,
			Token:              hcloudToken,
			Endpoint:           f.HCloud.Endpoint,
			Location:           in.Location,
			ServerType:         serverType(in.ServerType),
			Image:              in.Image,
			UserData:           long.add(in.UserData),
			VolumeSize:         in.VolumeSize,
			PublicIPv4Disabled: in.PublicIPv4Disabled,
			PublicIPv6Disabled: in.PublicIPv6Disabled,
			PrivateNetworks:    in.PrivateNetworks,
			Labels:             in.Labels,
		}
	}
	if c := a.ConnectorConfig; c != nil {
		out.ConnectorConfig = &ConnectorConfig{
			OS:                   c.OS,
			Arch:                 c.Arch,
			Protocol:             c.Protocol,
			ProtocolPort:         c.ProtocolPort,
			Username:             c.Username,
			KeyPath:              c.KeyPath,
			UseStaticCredentials: c.UseStaticCredentials,
			Keepalive:            string(c.Keepalive),
			Timeout:              string(c.Timeout),
			UseExternalAddr:      c.UseExternalAddr,
		}
	}
	if s := a.StateStorage; s != nil {
		out.StateStorage = &StateStorage{Enabled: s.Enabled, Dir: s.Dir, KeepInstanceWithAcquisitions: s.KeepInstanceWithAcquisitions}
	}
	if s := a.ScaleThrottle; s != nil {
		out.ScaleThrottle = &ScaleThrottle{Limit: s.Limit, Burst: s.Burst}
	}
	for _, p := range a.Policy {
		out.Policy = append(out.Policy, Policy{
			Periods:          p.Periods,
			Timezone:         p.Timezone,
			IdleCount:        p.IdleCount,
			IdleTime:         string(p.IdleTime),
			ScaleFactor:      p.ScaleFactor,
			ScaleFactorLimit: p.ScaleFactorLimit,
			PreemptiveMode:   p.PreemptiveMode,
		})
	}
	return out, nil
}

// serverType keeps the upstream plugin's two spellings: one type as a
// string, fallbacks as a list.
func serverType(l spec.StringList) any {
	if len(l) == 1 {
		return l[0]
	}
	return []string(l)
}

// encode writes cfg as TOML: no indentation, a blank line before every
// table, and the collected long strings as multi-line strings.
func encode(cfg *Config, long multiline) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("render config.toml: %w", err)
	}
	// Every line of the encoder's output is one key or one table header:
	// its strings never span lines. Table headers are the lines that start
	// with "[".
	var out bytes.Buffer
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "[") && i > 0 && lines[i-1] != "\n" {
			out.WriteByte('\n')
		}
		out.WriteString(line)
	}
	text := out.String()
	for _, ph := range slices.Sorted(maps.Keys(long)) {
		s := long[ph]
		quoted := `"` + ph + `"`
		if n := strings.Count(text, quoted); n != 1 {
			return nil, fmt.Errorf("render config.toml: multi-line string placeholder found %d times", n)
		}
		text = strings.Replace(text, quoted, multilineString(s), 1)
	}
	// A value TOML cannot hold (invalid UTF-8) would make a file gitlab-runner
	// refuses to start with; refuse it here instead.
	var check map[string]any
	if _, err := toml.Decode(text, &check); err != nil {
		return nil, fmt.Errorf("render config.toml: a value cannot be written as TOML: %w", err)
	}
	return []byte(text), nil
}

// multilineString quotes s as a TOML multi-line basic string that decodes to
// exactly s: backslashes are escaped, a quote is escaped where it could form
// `"""` with its neighbours, a leading newline (which TOML would trim) and
// control characters other than tab and newline (a lone CR among them) are
// written as escapes.
func multilineString(s string) string {
	var b strings.Builder
	b.WriteString(`"""`)
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"' && (i == len(s)-1 || s[i+1] == '"'):
			b.WriteString(`\"`)
		case r == '\n' && i == 0:
			b.WriteString(`\n`)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`"""`)
	return b.String()
}

// maxUseCount is the written max_use_count, nil when left out.
func maxUseCount(a *spec.Autoscaler) *int {
	if a.MaxUseCount == nil {
		return nil
	}
	n := *a.MaxUseCount
	return &n
}

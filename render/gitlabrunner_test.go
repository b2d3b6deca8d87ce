package render

import (
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

// The types below restate, for the keys fleetctl renders, how gitlab-runner
// declares config.toml in its common/config.go and cache/cacheconfig: the same
// toml key names and the same Go types (time.Duration for durations, *bool
// where gitlab-runner tells unset from false, a map for plugin_config).
// Decoding the rendered file into them with the same TOML library is what
// gitlab-runner's Config.LoadConfig does; an undecoded key is what its
// `gitlab-runner lint` reports as an unknown key.

type glrConfig struct {
	ListenAddress    string           `toml:"listen_address,omitempty"`
	SessionServer    glrSessionServer `toml:"session_server,omitempty"`
	ConnectionMaxAge *time.Duration   `toml:"connection_max_age,omitempty"`
	Concurrent       int              `toml:"concurrent"`
	CheckInterval    int              `toml:"check_interval"`
	LogLevel         *string          `toml:"log_level"`
	LogFormat        *string          `toml:"log_format"`
	Runners          []*glrRunner     `toml:"runners"`
	ShutdownTimeout  int              `toml:"shutdown_timeout,omitempty"`
}

type glrRunner struct {
	Name               string    `toml:"name"`
	Limit              int       `toml:"limit,omitzero"`
	OutputLimit        int       `toml:"output_limit,omitzero"`
	RequestConcurrency int       `toml:"request_concurrency,omitzero"`
	URL                string    `toml:"url"`
	ID                 int64     `toml:"id"`
	Token              string    `toml:"token"`
	TokenObtainedAt    time.Time `toml:"token_obtained_at"`
	TokenExpiresAt     time.Time `toml:"token_expires_at"`
	Executor           string    `toml:"executor"`
	Environment        []string  `toml:"environment,omitempty"`

	Cache      *glrCache      `toml:"cache,omitempty"`
	Docker     *glrDocker     `toml:"docker,omitempty"`
	Autoscaler *glrAutoscaler `toml:"autoscaler,omitempty"`
}

type glrSessionServer struct {
	ListenAddress    string `toml:"listen_address,omitempty"`
	AdvertiseAddress string `toml:"advertise_address,omitempty"`
	SessionTimeout   int    `toml:"session_timeout,omitempty"`
}

type glrCache struct {
	Type   string      `toml:"Type,omitempty"`
	Path   string      `toml:"Path,omitempty"`
	Shared bool        `toml:"Shared,omitempty"`
	S3     *glrCacheS3 `toml:"s3,omitempty"`
}

type glrCacheS3 struct {
	ServerAddress  string `toml:"ServerAddress,omitempty"`
	AccessKey      string `toml:"AccessKey,omitempty"`
	SecretKey      string `toml:"SecretKey,omitempty"`
	BucketName     string `toml:"BucketName,omitempty"`
	BucketLocation string `toml:"BucketLocation,omitempty"`
	Insecure       bool   `toml:"Insecure,omitempty"`
}

type glrDocker struct {
	Image         string            `toml:"image"`
	Memory        string            `toml:"memory,omitempty"`
	CPUS          string            `toml:"cpus,omitempty"`
	Privileged    bool              `toml:"privileged,omitzero"`
	DisableCache  bool              `toml:"disable_cache,omitzero"`
	Volumes       []string          `toml:"volumes,omitempty"`
	NetworkMode   string            `toml:"network_mode,omitempty"`
	AllowedImages []string          `toml:"allowed_images,omitempty"`
	PullPolicy    glrStringOrArray  `toml:"pull_policy,omitempty"`
	ShmSize       int64             `toml:"shm_size,omitempty"`
	Tmpfs         map[string]string `toml:"tmpfs,omitempty"`
}

// glrStringOrArray accepts a string or a list, as gitlab-runner's
// StringOrArray does for pull_policy.
type glrStringOrArray []string

func (p *glrStringOrArray) UnmarshalTOML(data any) error {
	switch v := data.(type) {
	case string:
		*p = glrStringOrArray{v}
	case []any:
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return &toml.ParseError{Message: "pull_policy: not a string"}
			}
			*p = append(*p, s)
		}
	default:
		return &toml.ParseError{Message: "pull_policy: not a string or list"}
	}
	return nil
}

type glrAutoscaler struct {
	CapacityPerInstance int              `toml:"capacity_per_instance,omitempty"`
	MaxUseCount         int              `toml:"max_use_count,omitempty"`
	MaxInstances        int              `toml:"max_instances,omitempty"`
	Plugin              string           `toml:"plugin,omitempty"`
	PluginConfig        map[string]any   `toml:"plugin_config,omitempty"`
	ConnectorConfig     glrConnector     `toml:"connector_config,omitempty"`
	Policy              []glrPolicy      `toml:"policy,omitempty"`
	ScaleThrottle       glrScaleThrottle `toml:"scale_throttle,omitempty"`
	StateStorage        glrStateStorage  `toml:"state_storage,omitempty"`

	InstanceReadyCommand        string        `toml:"instance_ready_command,omitempty"`
	InstanceAcquireTimeout      time.Duration `toml:"instance_acquire_timeout,omitempty"`
	UpdateInterval              time.Duration `toml:"update_interval,omitempty"`
	UpdateIntervalWhenExpecting time.Duration `toml:"update_interval_when_expecting,omitempty"`
	LogInternalIP               bool          `toml:"log_internal_ip,omitempty"`
	LogExternalIP               bool          `toml:"log_external_ip,omitempty"`
	DeleteInstancesOnShutdown   bool          `toml:"delete_instances_on_shutdown,omitempty"`
}

type glrStateStorage struct {
	Enabled                      bool   `toml:"enabled,omitempty"`
	Dir                          string `toml:"dir,omitempty"`
	KeepInstanceWithAcquisitions bool   `toml:"keep_instance_with_acquisitions,omitempty"`
}

type glrScaleThrottle struct {
	Limit int `toml:"limit,omitempty"`
	Burst int `toml:"burst,omitempty"`
}

type glrConnector struct {
	OS                   string        `toml:"os,omitempty"`
	Arch                 string        `toml:"arch,omitempty"`
	Protocol             string        `toml:"protocol,omitempty"`
	ProtocolPort         int           `toml:"protocol_port,omitempty"`
	Username             string        `toml:"username,omitempty"`
	KeyPathname          string        `toml:"key_path,omitempty"`
	UseStaticCredentials bool          `toml:"use_static_credentials,omitempty"`
	Keepalive            time.Duration `toml:"keepalive,omitempty"`
	Timeout              time.Duration `toml:"timeout,omitempty"`
	UseExternalAddr      bool          `toml:"use_external_addr,omitempty"`
}

type glrPolicy struct {
	Periods          []string      `toml:"periods,omitempty"`
	Timezone         string        `toml:"timezone,omitempty"`
	IdleCount        int           `toml:"idle_count,omitempty"`
	IdleTime         time.Duration `toml:"idle_time,omitempty"`
	ScaleFactor      float64       `toml:"scale_factor,omitempty"`
	ScaleFactorLimit int           `toml:"scale_factor_limit,omitempty"`
	PreemptiveMode   *bool         `toml:"preemptive_mode,omitempty"`
}

// Every rendered file decodes into gitlab-runner's structures with no
// unknown key, and the values gitlab-runner sees are the ones fleet.yaml
// wrote: durations parse, pointers keep their meaning.
func TestGitLabRunnerDecodesRenderedConfig(t *testing.T) {
	t.Parallel()
	hour := time.Hour
	tests := []struct {
		name  string
		fleet *spec.Fleet
		want  glrSeen
	}{
		{"tutorial fleetctl", tutorialFleet("fleetctl"), glrSeen{IdleTimes: []time.Duration{hour}, Preemptive: []*bool{nil}}},
		{"tutorial upstream", tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest"), glrSeen{IdleTimes: []time.Duration{hour}, Preemptive: []*bool{nil}}},
		{"full fleetctl", fullFleet("fleetctl"), glrSeen{
			IdleTimes: []time.Duration{hour, 20*time.Minute + 30*time.Second}, Preemptive: []*bool{nil, boolp(false)},
			Acquire: 15 * time.Minute, Keepalive: 30 * time.Second, Timeout: 10 * time.Minute, PullPolicy: []string{"if-not-present", "always"},
		}},
		{"full upstream", fullFleet("hetznercloud/fleeting-plugin-hetzner:latest"), glrSeen{
			IdleTimes: []time.Duration{hour, 20*time.Minute + 30*time.Second}, Preemptive: []*bool{nil, boolp(false)},
			Acquire: 15 * time.Minute, Keepalive: 30 * time.Second, Timeout: 10 * time.Minute, PullPolicy: []string{"if-not-present", "always"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := RunnerConfig(tt.fleet, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			var cfg glrConfig
			md, err := toml.Decode(string(out), &cfg)
			if err != nil {
				t.Fatalf("gitlab-runner cannot decode the rendered file: %v", err)
			}
			if u := unknownKeys(md); len(u) > 0 {
				t.Errorf("keys gitlab-runner does not know: %v", u)
			}
			if len(cfg.Runners) != 1 || cfg.Runners[0].Autoscaler == nil || cfg.Runners[0].Docker == nil {
				t.Fatalf("no runner with docker and autoscaler sections")
			}
			// What gitlab-runner's JSON schema (its jsonschema tags) asks of
			// these keys: url and token non-empty, idle_time at least 1s.
			if r := cfg.Runners[0]; r.URL == "" || r.Token == "" {
				t.Errorf("url %q or token is empty", r.URL)
			}
			for i, p := range cfg.Runners[0].Autoscaler.Policy {
				if p.IdleTime != 0 && p.IdleTime < time.Second {
					t.Errorf("policy[%d].idle_time %v is below gitlab-runner's minimum of 1s", i, p.IdleTime)
				}
			}
			a := cfg.Runners[0].Autoscaler
			got := glrSeen{
				Acquire:   a.InstanceAcquireTimeout,
				Keepalive: a.ConnectorConfig.Keepalive,
				Timeout:   a.ConnectorConfig.Timeout,
			}
			if pp := cfg.Runners[0].Docker.PullPolicy; pp != nil {
				got.PullPolicy = []string(pp)
			}
			for _, p := range a.Policy {
				got.IdleTimes = append(got.IdleTimes, p.IdleTime)
				got.Preemptive = append(got.Preemptive, p.PreemptiveMode)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("values as gitlab-runner reads them (-want +got):\n%s", d)
			}
		})
	}
}

// glrSeen is what gitlab-runner makes of the values fleetctl writes as
// strings.
type glrSeen struct {
	IdleTimes          []time.Duration
	Preemptive         []*bool
	Acquire            time.Duration
	Keepalive, Timeout time.Duration
	PullPolicy         []string
}

// unknownKeys is what `gitlab-runner lint` would report, less the keys of
// tables nested in plugin_config (its labels): gitlab-runner decodes
// plugin_config into an untyped map, and the TOML library never marks keys
// below such a map's own keys as decoded, so lint names any nested table's
// keys, whatever they are. They reach the plugin all the same.
func unknownKeys(md toml.MetaData) []string {
	var out []string
	for _, k := range md.Undecoded() {
		if len(k) > 3 && k[0] == "runners" && k[1] == "autoscaler" && k[2] == "plugin_config" {
			continue
		}
		out = append(out, k.String())
	}
	return out
}

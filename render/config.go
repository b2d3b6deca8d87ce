// Package render turns a fleet.yaml into the bytes fleetctl puts on the
// runner-manager: gitlab-runner's /etc/gitlab-runner/config.toml and the
// manager's cloud-init user data.
//
// Rendering is pure: no I/O and no environment. Secrets reach the output only
// through the SecretFunc the caller hands in, so the same code prints a masked
// preview (MaskSecrets) and the file apply pushes.
package render

// The types below are config.toml as gitlab-runner reads it (its
// common/config.go and cache/cacheconfig): the key names are gitlab-runner's,
// including the CamelCase keys of [runners.cache]. Only what fleet.yaml can
// say is here; every field is omitted when fleet.yaml leaves it out, so the
// rendered file holds exactly what the user wrote plus nothing.
//
// Durations stay the quoted Go duration strings the user wrote ("1h", not
// "1h0m0s"); gitlab-runner parses them into time.Duration.
//
// Field order is the order keys appear in the file (the encoder writes plain
// keys first, then sub-tables, in field order).

// Config is the whole config.toml.
type Config struct {
	Concurrent    int    `toml:"concurrent"`
	CheckInterval int    `toml:"check_interval,omitzero"`
	LogLevel      string `toml:"log_level,omitempty"`
	LogFormat     string `toml:"log_format,omitempty"`
	ListenAddress string `toml:"listen_address,omitempty"`
	// ShutdownTimeout is in seconds.
	ShutdownTimeout int      `toml:"shutdown_timeout,omitzero"`
	Runners         []Runner `toml:"runners"`
}

// Runner is one [[runners]] entry.
type Runner struct {
	Name               string      `toml:"name"`
	URL                string      `toml:"url"`
	Token              string      `toml:"token"`
	Executor           string      `toml:"executor"`
	Limit              int         `toml:"limit,omitzero"`
	RequestConcurrency int         `toml:"request_concurrency,omitzero"`
	OutputLimit        int         `toml:"output_limit,omitzero"`
	Environment        []string    `toml:"environment,omitempty"`
	Docker             *Docker     `toml:"docker,omitempty"`
	Cache              *Cache      `toml:"cache,omitempty"`
	Autoscaler         *Autoscaler `toml:"autoscaler,omitempty"`
}

// Docker is [runners.docker].
type Docker struct {
	Image         string            `toml:"image"`
	Privileged    bool              `toml:"privileged,omitempty"`
	Volumes       []string          `toml:"volumes,omitempty"`
	PullPolicy    []string          `toml:"pull_policy,omitempty"`
	AllowedImages []string          `toml:"allowed_images,omitempty"`
	Memory        string            `toml:"memory,omitempty"`
	CPUs          string            `toml:"cpus,omitempty"`
	ShmSize       int64             `toml:"shm_size,omitzero"`
	DisableCache  bool              `toml:"disable_cache,omitempty"`
	NetworkMode   string            `toml:"network_mode,omitempty"`
	Tmpfs         map[string]string `toml:"tmpfs,omitempty"`
}

// Cache is [runners.cache]. gitlab-runner spells these keys in CamelCase.
type Cache struct {
	Type   string   `toml:"Type"`
	Path   string   `toml:"Path,omitempty"`
	Shared bool     `toml:"Shared,omitempty"`
	S3     *CacheS3 `toml:"s3,omitempty"`
}

// CacheS3 is [runners.cache.s3], e.g. Hetzner Object Storage.
type CacheS3 struct {
	ServerAddress  string `toml:"ServerAddress"`
	AccessKey      string `toml:"AccessKey,omitempty"`
	SecretKey      string `toml:"SecretKey,omitempty"`
	BucketName     string `toml:"BucketName"`
	BucketLocation string `toml:"BucketLocation,omitempty"`
	Insecure       bool   `toml:"Insecure,omitempty"`
}

// Autoscaler is [runners.autoscaler].
type Autoscaler struct {
	Plugin              string `toml:"plugin"`
	CapacityPerInstance int    `toml:"capacity_per_instance,omitzero"`
	MaxInstances        int    `toml:"max_instances,omitzero"`
	// MaxUseCount is a pointer so that a written 0 ("no limit") is kept.
	MaxUseCount                 *int   `toml:"max_use_count,omitempty"`
	InstanceReadyCommand        string `toml:"instance_ready_command,omitempty"`
	InstanceAcquireTimeout      string `toml:"instance_acquire_timeout,omitempty"`
	UpdateInterval              string `toml:"update_interval,omitempty"`
	UpdateIntervalWhenExpecting string `toml:"update_interval_when_expecting,omitempty"`
	DeleteInstancesOnShutdown   bool   `toml:"delete_instances_on_shutdown,omitempty"`
	LogInternalIP               bool   `toml:"log_internal_ip,omitempty"`
	LogExternalIP               bool   `toml:"log_external_ip,omitempty"`
	// PluginConfig is *FleetctlPluginConfig or *HetznerPluginConfig when
	// rendering; decoding a file into Config leaves a map[string]any here.
	PluginConfig    any              `toml:"plugin_config,omitempty"`
	ConnectorConfig *ConnectorConfig `toml:"connector_config,omitempty"`
	StateStorage    *StateStorage    `toml:"state_storage,omitempty"`
	ScaleThrottle   *ScaleThrottle   `toml:"scale_throttle,omitempty"`
	Policy          []Policy         `toml:"policy,omitempty"`
}

// FleetctlPluginConfig is [runners.autoscaler.plugin_config] when fleetctl
// is the fleeting plugin. gitlab-runner hands it to the plugin as JSON, hence
// the json tags: the plugin decodes it with encoding/json.
type FleetctlPluginConfig struct {
	// Spec is where the fleet.yaml copy lives on the manager.
	Spec string `toml:"spec" json:"spec"`
	// Runner is this runner's name in that file.
	Runner string `toml:"runner" json:"runner"`
	// Token is the Hetzner Cloud API token: the fleet.yaml copy holds only
	// references, which do not resolve on the manager.
	Token string `toml:"token" json:"token"`
	// Endpoint is the Hetzner Cloud API base URL, when fleet.yaml sets one.
	Endpoint string `toml:"endpoint,omitempty" json:"endpoint,omitempty"`
}

// HetznerPluginConfig is [runners.autoscaler.plugin_config] exactly as
// hetznercloud/fleeting-plugin-hetzner reads it (its InstanceGroup fields).
type HetznerPluginConfig struct {
	Name     string `toml:"name" json:"name"`
	Token    string `toml:"token" json:"token"`
	Endpoint string `toml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Location string `toml:"location" json:"location"`
	// ServerType is a string, or a list of strings to fall back through.
	ServerType         any               `toml:"server_type" json:"server_type"`
	Image              string            `toml:"image" json:"image"`
	UserData           string            `toml:"user_data,omitempty" json:"user_data,omitempty"`
	VolumeSize         int               `toml:"volume_size,omitzero" json:"volume_size,omitempty"`
	PublicIPv4Disabled bool              `toml:"public_ipv4_disabled,omitempty" json:"public_ipv4_disabled,omitempty"`
	PublicIPv6Disabled bool              `toml:"public_ipv6_disabled,omitempty" json:"public_ipv6_disabled,omitempty"`
	PrivateNetworks    []string          `toml:"private_networks,omitempty" json:"private_networks,omitempty"`
	Labels             map[string]string `toml:"labels,omitempty" json:"labels,omitempty"`
}

// ConnectorConfig is [runners.autoscaler.connector_config].
type ConnectorConfig struct {
	OS                   string `toml:"os,omitempty"`
	Arch                 string `toml:"arch,omitempty"`
	Protocol             string `toml:"protocol,omitempty"`
	ProtocolPort         int    `toml:"protocol_port,omitzero"`
	Username             string `toml:"username,omitempty"`
	KeyPath              string `toml:"key_path,omitempty"`
	UseStaticCredentials bool   `toml:"use_static_credentials,omitempty"`
	Keepalive            string `toml:"keepalive,omitempty"`
	Timeout              string `toml:"timeout,omitempty"`
	UseExternalAddr      bool   `toml:"use_external_addr,omitempty"`
}

// StateStorage is [runners.autoscaler.state_storage].
type StateStorage struct {
	Enabled                      bool   `toml:"enabled,omitempty"`
	Dir                          string `toml:"dir,omitempty"`
	KeepInstanceWithAcquisitions bool   `toml:"keep_instance_with_acquisitions,omitempty"`
}

// ScaleThrottle is [runners.autoscaler.scale_throttle].
type ScaleThrottle struct {
	Limit int `toml:"limit,omitzero"`
	Burst int `toml:"burst,omitzero"`
}

// Policy is one [[runners.autoscaler.policy]].
type Policy struct {
	Periods          []string `toml:"periods,omitempty"`
	Timezone         string   `toml:"timezone,omitempty"`
	IdleCount        int      `toml:"idle_count,omitzero"`
	IdleTime         string   `toml:"idle_time,omitempty"`
	ScaleFactor      float64  `toml:"scale_factor,omitzero"`
	ScaleFactorLimit int      `toml:"scale_factor_limit,omitzero"`
	// PreemptiveMode is a pointer: unset means "on when idle_count > 0".
	PreemptiveMode *bool `toml:"preemptive_mode,omitempty"`
}

// RunnerWrittenKeys are the keys gitlab-runner itself writes into
// config.toml (on registration and on every runner token refresh, both of
// which re-encode the whole file), as dotted paths where "*" stands for any
// [[runners]] index. fleetctl never renders them, and a comparison of the
// live file with the rendered one must ignore them.
//
// Because such a rewrite re-encodes every field of gitlab-runner's
// structures, a live file may also carry zero values ("privileged = false",
// "shm_size = 0") and durations in time.Duration's long form ("1h0m0s") that
// mean the same as the rendered file's omissions and "1h"; NormalizeConfig
// takes all of that into account.
var RunnerWrittenKeys = []string{
	"runners.*.id",
	"runners.*.token_obtained_at",
	"runners.*.token_expires_at",
}

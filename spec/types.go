// Package spec defines fleet.yaml, version 1: the one file that declares a
// fleet's Hetzner Cloud resources, its runner-manager and gitlab-runner's
// configuration. It loads the file strictly, with file:line:col positions
// for every problem, and validates everything that needs no network.
//
// Field names are borrowed, never invented: Hetzner's for cloud things,
// gitlab-runner's for runner things. Secrets are references ({env: NAME} or
// {file: PATH}), never literals, and are resolved only when a command needs
// them.
package spec

// Version is the only fleet.yaml format version this build reads.
const Version = 1

// Ownership labels carried by every resource fleetctl creates. Live state is
// read by selecting on them; nothing without them is ever changed.
const (
	// LabelFleet holds the fleet's name on every owned resource.
	LabelFleet = "fleetctl.io/fleet"
	// LabelRole says which part of the fleet a resource is: "manager",
	// "instance", "ssh-key", "firewall".
	LabelRole = "fleetctl.io/role"
	// LabelRunner names the runner an autoscaled instance belongs to.
	LabelRunner = "fleetctl.io/runner"
)

// TemporaryNameSuffix makes the name a create-before-destroy replacement of
// the manager is created under: Hetzner server names are unique per project,
// and the old manager holds the name until it is destroyed.
const TemporaryNameSuffix = "-next"

// TemporaryName is the name a create-before-destroy replacement of the
// manager named name is created under, and renamed from once the old
// manager is gone.
func TemporaryName(name string) string { return name + TemporaryNameSuffix }

// Defaults applied by Load where a field is left out.
const (
	DefaultSpecPath   = "/etc/fleetctl/fleet.yaml"
	DefaultPluginPath = "/usr/local/bin/fleetctl"
	DefaultConfigPath = "/etc/gitlab-runner/config.toml"
	// PluginFleetctl selects fleetctl itself as the fleeting plugin.
	PluginFleetctl = "fleetctl"
	// UpstreamPlugin is the image reference prefix of the upstream Hetzner
	// fleeting plugin; "hetznercloud/fleeting-plugin-hetzner:latest" and any
	// other tag select it.
	UpstreamPlugin   = "hetznercloud/fleeting-plugin-hetzner"
	DefaultExecutor  = "docker-autoscaler"
	DefaultSSHUser   = "root"
	DefaultSSHPort   = 22
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Fleet is a whole fleet.yaml.
type Fleet struct {
	// Version must be 1.
	Version int `json:"version"`
	// Name identifies the fleet; every owned resource carries the label
	// fleetctl.io/fleet=<name>. It must be a valid Hetzner label value.
	Name string `json:"name"`
	// HCloud says how to reach the Hetzner Cloud API.
	HCloud HCloud `json:"hcloud,omitempty"`
	// SSHKeys are uploaded to the project (the tutorial's `hcloud ssh-key create`).
	SSHKeys []SSHKey `json:"ssh_keys,omitempty"`
	// Firewalls are created and applied by label selector.
	Firewalls []Firewall `json:"firewalls,omitempty"`
	// Manager is the runner-manager server.
	Manager Manager `json:"manager"`
	// GitLabRunner becomes /etc/gitlab-runner/config.toml on the manager.
	GitLabRunner GitLabRunner `json:"gitlab_runner"`

	// Source is the file the fleet was loaded from ("" when parsed from bytes).
	Source string `json:"-"`
	// positions maps a field path (as in Problem.Path) to where it was written.
	positions map[string]Pos
}

// HCloud holds the API settings. Both fall back to the environment as the
// hcloud CLI reads it: HCLOUD_TOKEN and HCLOUD_ENDPOINT.
type HCloud struct {
	// Token is the API token; default {env: HCLOUD_TOKEN}.
	Token *Secret `json:"token,omitempty"`
	// Endpoint is the API base URL; default $HCLOUD_ENDPOINT, else
	// https://api.hetzner.cloud/v1.
	Endpoint string `json:"endpoint,omitempty"`
}

// Secret is a reference to a secret value: exactly one of Env or File.
// A literal value is refused at load time so that fleet.yaml can be committed.
type Secret struct {
	// Env names an environment variable.
	Env string `json:"env,omitempty"`
	// File is a path; a leading ~/ means the user's home directory. One
	// trailing newline is stripped from the content.
	File string `json:"file,omitempty"`
}

// SSHKey is a public key uploaded to the Hetzner project.
type SSHKey struct {
	// Name is the key's name in Hetzner.
	Name string `json:"name"`
	// PublicKey is the key in authorized_keys format. Exactly one of
	// PublicKey and PublicKeyFile.
	PublicKey string `json:"public_key,omitempty"`
	// PublicKeyFile is read at plan time; ~/ is expanded.
	PublicKeyFile string `json:"public_key_file,omitempty"`
	// Labels are added to the ownership labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// Firewall is a Hetzner firewall.
type Firewall struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Rules are compared as a set; order does not matter.
	Rules []FirewallRule `json:"rules,omitempty"`
	// ApplyTo lists the label selectors the firewall is applied to.
	ApplyTo []FirewallApplyTo `json:"apply_to,omitempty"`
}

// FirewallRule is one rule, in Hetzner's terms.
type FirewallRule struct {
	Description string `json:"description,omitempty"`
	// Direction is "in" or "out".
	Direction string `json:"direction"`
	// Protocol is tcp, udp, icmp, esp or gre.
	Protocol string `json:"protocol"`
	// Port is a port ("22"), a range ("8000-9000") or "any"; only for tcp and udp.
	Port string `json:"port,omitempty"`
	// SourceIPs are CIDRs, for direction "in".
	SourceIPs []string `json:"source_ips,omitempty"`
	// DestinationIPs are CIDRs, for direction "out".
	DestinationIPs []string `json:"destination_ips,omitempty"`
}

// FirewallApplyTo is one resource the firewall applies to.
type FirewallApplyTo struct {
	// LabelSelector selects servers, in Hetzner's label selector syntax.
	LabelSelector string `json:"label_selector"`
}

// Manager is the runner-manager server.
type Manager struct {
	// Name is the server name, an RFC 1123 hostname.
	Name       string `json:"name"`
	ServerType string `json:"server_type"`
	Image      string `json:"image"`
	Location   string `json:"location"`
	// SSHKeys name keys declared under ssh_keys.
	SSHKeys []string          `json:"ssh_keys,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Protection is Hetzner's delete/rebuild protection; on by default.
	Protection *bool `json:"protection,omitempty"`
	// CreateBeforeDestroy makes a replacement create the new manager (under
	// TemporaryName) and write its files before the old one is destroyed,
	// as Terraform's lifecycle setting of that name does; off by default,
	// which destroys the old manager first.
	CreateBeforeDestroy bool `json:"create_before_destroy,omitempty"`
	// SSH says how apply reaches the manager.
	SSH ManagerSSH `json:"ssh,omitempty"`
	// SpecPath is where the fleet.yaml copy the plugin reads lives on the
	// manager; default /etc/fleetctl/fleet.yaml.
	SpecPath string `json:"spec_path,omitempty"`
}

// ManagerSSH holds the SSH settings apply uses to push files.
type ManagerSSH struct {
	// User defaults to root.
	User string `json:"user,omitempty"`
	// Port defaults to 22.
	Port int `json:"port,omitempty"`
	// PrivateKey is the key apply authenticates with. plan works without it
	// and says what it could not compare.
	PrivateKey *Secret `json:"private_key,omitempty"`
}

// GitLabRunner is config.toml's global section and its runners.
type GitLabRunner struct {
	Concurrent int `json:"concurrent"`
	// CheckInterval is gitlab-runner's check_interval, in seconds.
	CheckInterval int    `json:"check_interval,omitempty"`
	LogLevel      string `json:"log_level,omitempty"`
	LogFormat     string `json:"log_format,omitempty"`
	ListenAddress string `json:"listen_address,omitempty"`
	// ShutdownTimeout is gitlab-runner's shutdown_timeout, in seconds.
	ShutdownTimeout int      `json:"shutdown_timeout,omitempty"`
	Runners         []Runner `json:"runners"`
}

// Runner is one [[runners]] entry.
type Runner struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Token is the runner authentication token (glrt-…).
	Token              Secret      `json:"token"`
	Executor           string      `json:"executor,omitempty"`
	Limit              int         `json:"limit,omitempty"`
	RequestConcurrency int         `json:"request_concurrency,omitempty"`
	OutputLimit        int         `json:"output_limit,omitempty"`
	Environment        []string    `json:"environment,omitempty"`
	Docker             *Docker     `json:"docker,omitempty"`
	Cache              *Cache      `json:"cache,omitempty"`
	Autoscaler         *Autoscaler `json:"autoscaler,omitempty"`
}

// Docker is [runners.docker].
type Docker struct {
	Image         string            `json:"image"`
	Privileged    bool              `json:"privileged,omitempty"`
	Volumes       []string          `json:"volumes,omitempty"`
	PullPolicy    []string          `json:"pull_policy,omitempty"`
	AllowedImages []string          `json:"allowed_images,omitempty"`
	Memory        string            `json:"memory,omitempty"`
	CPUs          string            `json:"cpus,omitempty"`
	ShmSize       int64             `json:"shm_size,omitempty"`
	DisableCache  bool              `json:"disable_cache,omitempty"`
	NetworkMode   string            `json:"network_mode,omitempty"`
	Tmpfs         map[string]string `json:"tmpfs,omitempty"`
}

// Cache is [runners.cache]; only the S3 type (Hetzner Object Storage) is offered.
type Cache struct {
	// Type is "s3".
	Type   string   `json:"type"`
	Path   string   `json:"path,omitempty"`
	Shared bool     `json:"shared,omitempty"`
	S3     *CacheS3 `json:"s3,omitempty"`
}

// CacheS3 is [runners.cache.s3].
type CacheS3 struct {
	ServerAddress  string  `json:"server_address"`
	AccessKey      *Secret `json:"access_key,omitempty"`
	SecretKey      *Secret `json:"secret_key,omitempty"`
	BucketName     string  `json:"bucket_name"`
	BucketLocation string  `json:"bucket_location,omitempty"`
	Insecure       bool    `json:"insecure,omitempty"`
}

// Autoscaler is [runners.autoscaler] plus the instances the plugin creates.
type Autoscaler struct {
	// Plugin is "fleetctl" (default) or an upstream plugin reference such
	// as "hetznercloud/fleeting-plugin-hetzner:latest".
	Plugin              string `json:"plugin,omitempty"`
	CapacityPerInstance int    `json:"capacity_per_instance"`
	// MaxUseCount is nil when left out, so that a written 0 (unlimited,
	// as in the tutorial) is rendered as written.
	MaxUseCount                 *int             `json:"max_use_count,omitempty"`
	MaxInstances                int              `json:"max_instances"`
	InstanceReadyCommand        string           `json:"instance_ready_command,omitempty"`
	InstanceAcquireTimeout      Duration         `json:"instance_acquire_timeout,omitempty"`
	UpdateInterval              Duration         `json:"update_interval,omitempty"`
	UpdateIntervalWhenExpecting Duration         `json:"update_interval_when_expecting,omitempty"`
	DeleteInstancesOnShutdown   bool             `json:"delete_instances_on_shutdown,omitempty"`
	LogInternalIP               bool             `json:"log_internal_ip,omitempty"`
	LogExternalIP               bool             `json:"log_external_ip,omitempty"`
	StateStorage                *StateStorage    `json:"state_storage,omitempty"`
	ScaleThrottle               *ScaleThrottle   `json:"scale_throttle,omitempty"`
	ConnectorConfig             *ConnectorConfig `json:"connector_config,omitempty"`
	Policy                      []Policy         `json:"policy,omitempty"`
	// Instances are the servers the plugin creates.
	Instances Instances `json:"instances"`
}

// StateStorage is [runners.autoscaler.state_storage].
type StateStorage struct {
	Enabled                      bool   `json:"enabled,omitempty"`
	Dir                          string `json:"dir,omitempty"`
	KeepInstanceWithAcquisitions bool   `json:"keep_instance_with_acquisitions,omitempty"`
}

// ScaleThrottle is [runners.autoscaler.scale_throttle].
type ScaleThrottle struct {
	Limit int `json:"limit,omitempty"`
	Burst int `json:"burst,omitempty"`
}

// ConnectorConfig is [runners.autoscaler.connector_config].
type ConnectorConfig struct {
	OS                   string   `json:"os,omitempty"`
	Arch                 string   `json:"arch,omitempty"`
	Protocol             string   `json:"protocol,omitempty"`
	ProtocolPort         int      `json:"protocol_port,omitempty"`
	Username             string   `json:"username,omitempty"`
	UseStaticCredentials bool     `json:"use_static_credentials,omitempty"`
	Keepalive            Duration `json:"keepalive,omitempty"`
	Timeout              Duration `json:"timeout,omitempty"`
	UseExternalAddr      bool     `json:"use_external_addr,omitempty"`
	// KeyPath points at a private key on the manager, for static credentials.
	KeyPath string `json:"key_path,omitempty"`
}

// Policy is one [[runners.autoscaler.policy]].
type Policy struct {
	// Periods are 5-field cron expressions.
	Periods          []string `json:"periods,omitempty"`
	Timezone         string   `json:"timezone,omitempty"`
	IdleCount        int      `json:"idle_count,omitempty"`
	IdleTime         Duration `json:"idle_time,omitempty"`
	ScaleFactor      float64  `json:"scale_factor,omitempty"`
	ScaleFactorLimit int      `json:"scale_factor_limit,omitempty"`
	PreemptiveMode   *bool    `json:"preemptive_mode,omitempty"`
}

// Instances are the autoscaled servers' settings, read by the plugin.
type Instances struct {
	// Name prefixes every instance name (<name>-<random>), as the upstream
	// plugin does.
	Name     string `json:"name"`
	Location string `json:"location"`
	// ServerType is one type or a list to fall back through, in order, when
	// Hetzner answers resource_unavailable.
	ServerType StringList `json:"server_type"`
	Image      string     `json:"image"`
	// UserData passes through byte for byte.
	UserData string            `json:"user_data,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// PrivateNetworks are network names or IDs to attach.
	PrivateNetworks    []string `json:"private_networks,omitempty"`
	PublicIPv4Disabled bool     `json:"public_ipv4_disabled,omitempty"`
	PublicIPv6Disabled bool     `json:"public_ipv6_disabled,omitempty"`
	// VolumeSize, in GB (≥ 10), attaches a fresh volume to each instance.
	VolumeSize int `json:"volume_size,omitempty"`
}

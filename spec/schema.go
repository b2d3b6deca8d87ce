package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// fieldDoc documents one fleet.yaml field. The JSON Schema and the
// reference page (docs/fleet-yaml.md) are both built from these, so a field
// cannot be added without being documented.
type fieldDoc struct {
	Description string
	Required    bool
	Default     any
	Enum        []any
	Pattern     string
	Minimum     *float64
	Maximum     *float64
	MaxLength   int
	// Becomes says where the value ends up: a config.toml key or a Hetzner
	// API field.
	Becomes string
}

func num(f float64) *float64 { return &f }

const (
	durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`
	envNamePattern  = `^[A-Za-z_][A-Za-z0-9_]*$`
	hetznerPattern  = `^[a-z0-9][a-z0-9._-]*$`
	hostnamePattern = `^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$`
	portPattern     = `^(any|[0-9]{1,5}(-[0-9]{1,5})?)$`
	labelValue      = `^([a-zA-Z0-9]([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?)?$`
	pluginPattern   = `^(fleetctl|hetznercloud/fleeting-plugin-hetzner(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?)$`
)

// typeDocs describe the types themselves.
var typeDocs = map[string]string{
	"Fleet":           "A fleet.yaml, version 1: the Hetzner Cloud resources, the runner-manager and gitlab-runner's configuration of one GitLab CI autoscaling fleet.",
	"HCloud":          "How to reach the Hetzner Cloud API.",
	"Secret":          "A reference to a secret: exactly one of env (an environment variable) or file (a regular file; ~/ is the home directory). One trailing newline (LF or CRLF) is stripped from either; a value still holding a line break or another control character is refused (except the line breaks of manager.ssh.private_key), as is an empty one. Literal secrets are refused so that fleet.yaml can be committed.",
	"SSHKey":          "A public SSH key uploaded to the Hetzner project (hcloud ssh-key create).",
	"Firewall":        "A Hetzner firewall, created with its rules and applied by label selector (hcloud firewall create, apply-to-resource).",
	"FirewallRule":    "One firewall rule, in Hetzner's terms. Rules are compared as a set: order does not matter.",
	"FirewallApplyTo": "A resource the firewall applies to.",
	"Manager":         "The runner-manager server: runs gitlab-runner, which runs fleetctl (or the upstream plugin) to create the autoscaled instances.",
	"ManagerSSH":      "How fleetctl apply reaches the manager over SSH to push config.toml.",
	"GitLabRunner":    "gitlab-runner's configuration: becomes /etc/gitlab-runner/config.toml on the manager.",
	"Runner":          "One [[runners]] entry of config.toml.",
	"Docker":          "[runners.docker]: the Docker executor's settings on each instance.",
	"Cache":           "[runners.cache]: a shared cache; fleetctl configures the S3 type for Hetzner Object Storage.",
	"CacheS3":         "[runners.cache.s3].",
	"Autoscaler":      "[runners.autoscaler], plus the instances the fleeting plugin creates.",
	"StateStorage":    "[runners.autoscaler.state_storage].",
	"ScaleThrottle":   "[runners.autoscaler.scale_throttle].",
	"ConnectorConfig": "[runners.autoscaler.connector_config]: how gitlab-runner connects to the instances.",
	"Policy":          "One [[runners.autoscaler.policy]]: when it applies and how many idle instances to keep.",
	"Instances":       "The autoscaled servers: becomes the plugin's configuration (fleetctl reads it from this file; for the upstream plugin it is rendered as [runners.autoscaler.plugin_config]).",
}

// fieldDocs document every field, keyed "Type.json_name".
var fieldDocs = map[string]fieldDoc{
	"Fleet.version":       {Description: "Format version; must be 1.", Required: true, Enum: []any{1}},
	"Fleet.name":          {Description: "The fleet's name. Every resource fleetctl creates carries the label fleetctl.io/fleet=<name>; only resources with it are ever changed or deleted. Lower-case letters, digits and -, at most 63 characters.", Required: true, Pattern: `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, MaxLength: 63},
	"Fleet.hcloud":        {Description: "Hetzner Cloud API settings."},
	"Fleet.ssh_keys":      {Description: "SSH keys to upload to the project; the manager names the ones it is created with."},
	"Fleet.firewalls":     {Description: "Firewalls to create and apply by label selector."},
	"Fleet.manager":       {Description: "The runner-manager server.", Required: true},
	"Fleet.gitlab_runner": {Description: "gitlab-runner's configuration, written to /etc/gitlab-runner/config.toml on the manager.", Required: true},

	"HCloud.token":    {Description: "The Hetzner Cloud API token, as a secret reference.", Default: map[string]any{"env": "HCLOUD_TOKEN"}, Becomes: "the API token; for the upstream plugin also plugin_config token"},
	"HCloud.endpoint": {Description: "The API base URL. Default: $HCLOUD_ENDPOINT, else https://api.hetzner.cloud/v1.", Pattern: `^https?://`},

	"Secret.env":  {Description: "Name of an environment variable holding the secret; one trailing newline is stripped.", Pattern: envNamePattern},
	"Secret.file": {Description: "Path of a regular file holding the secret (not a pipe or device); a leading ~/ is the home directory; one trailing newline is stripped.", Pattern: `^.+$`},

	"SSHKey.name":            {Description: "The key's name in Hetzner; unique in the project.", Required: true, MaxLength: 64, Pattern: `^\S(.*\S)?$`, Becomes: "Hetzner ssh_key name"},
	"SSHKey.public_key":      {Description: "The public key in authorized_keys format (\"ssh-ed25519 AAAA... comment\"). Exactly one of public_key and public_key_file.", Becomes: "Hetzner ssh_key public_key"},
	"SSHKey.public_key_file": {Description: "Path of the public key file, read at plan time; ~/ is expanded, e.g. ~/.ssh/id_ed25519.pub.", Becomes: "Hetzner ssh_key public_key"},
	"SSHKey.labels":          {Description: "Labels added to the ownership labels.", Becomes: "Hetzner ssh_key labels"},

	"Firewall.name":     {Description: "The firewall's name in Hetzner; unique in the project.", Required: true, MaxLength: 64, Pattern: `^\S(.*\S)?$`, Becomes: "Hetzner firewall name"},
	"Firewall.labels":   {Description: "Labels added to the ownership labels.", Becomes: "Hetzner firewall labels"},
	"Firewall.rules":    {Description: "The firewall's rules, compared as a set.", Becomes: "Hetzner firewall rules"},
	"Firewall.apply_to": {Description: "Label selectors of the servers the firewall applies to.", Becomes: "Hetzner firewall applied_to (type label_selector)"},

	"FirewallRule.description":     {Description: "Free text, at most 255 characters.", MaxLength: 255},
	"FirewallRule.direction":       {Description: "in (match source_ips) or out (match destination_ips).", Required: true, Enum: []any{"in", "out"}},
	"FirewallRule.protocol":        {Description: "tcp, udp, icmp, esp or gre.", Required: true, Enum: []any{"tcp", "udp", "icmp", "esp", "gre"}},
	"FirewallRule.port":            {Description: "For tcp and udp only, and required there: a port \"22\", a range \"8000-9000\" or \"any\". Write it quoted.", Pattern: portPattern},
	"FirewallRule.source_ips":      {Description: "CIDRs, required for direction in and only there; network addresses (host bits zero), e.g. 0.0.0.0/0 and \"::/0\"; at most 100."},
	"FirewallRule.destination_ips": {Description: "CIDRs, required for direction out and only there; network addresses (host bits zero); at most 100."},

	"FirewallApplyTo.label_selector": {Description: "A Hetzner label selector: terms joined by commas, each k=v, k==v, k!=v, k, !k, k in (a,b) or k notin (a,b). The manager carries its labels, fleetctl.io/fleet and fleetctl.io/role=manager; instances carry instances.labels, fleetctl.io/fleet, fleetctl.io/role=instance and fleetctl.io/runner=<runner name>.", Required: true, Pattern: `\S`},

	"Manager.name":                  {Description: "The server name: an RFC 1123 hostname, unique in the project.", Required: true, Pattern: hostnamePattern, MaxLength: 253, Becomes: "Hetzner server name"},
	"Manager.server_type":           {Description: "Hetzner server type, e.g. cpx11. Changing it resizes the server in place (shutdown, change type, power on).", Required: true, Pattern: hetznerPattern, Becomes: "Hetzner server server_type"},
	"Manager.image":                 {Description: "Hetzner image name or ID, e.g. debian-12. Changing it replaces the server.", Required: true, Pattern: hetznerPattern, Becomes: "Hetzner server image"},
	"Manager.location":              {Description: "Hetzner location, e.g. hel1, fsn1, nbg1, ash, hil, sin. Changing it replaces the server.", Required: true, Pattern: hetznerPattern, Becomes: "Hetzner server location"},
	"Manager.ssh_keys":              {Description: "Names of keys declared under ssh_keys, installed for root at creation. Changing them replaces the server.", Becomes: "Hetzner server ssh_keys"},
	"Manager.labels":                {Description: "Labels added to the ownership labels, e.g. {runner: \"\"} for the tutorial's firewall selector.", Becomes: "Hetzner server labels"},
	"Manager.protection":            {Description: "Hetzner delete and rebuild protection.", Default: true, Becomes: "Hetzner server protection delete, rebuild"},
	"Manager.create_before_destroy": {Description: "How a replacement (forced by image, location, ssh_keys or cloud-init) runs: true creates the new manager under the name <name>-next, writes its files, destroys the old one and renames the new one, so that a manager serves the runner throughout; false destroys the old manager first. The name then leaves room for -next (a hostname label holds at most 63 characters).", Default: false},
	"Manager.ssh":                   {Description: "How apply reaches the manager over SSH."},
	"Manager.spec_path":             {Description: "Where the copy of this file that the fleetctl plugin reads lives on the manager: a *.yaml or *.yml file directly in /etc/fleetctl, the root-only directory fleetctl owns there (apply overwrites it, so no other path is accepted).", Default: DefaultSpecPath, Pattern: specPathPattern, Becomes: "plugin_config spec (fleetctl plugin)"},

	"ManagerSSH.user":        {Description: "SSH user.", Default: DefaultSSHUser, Pattern: `^[a-z_][a-z0-9_-]*[$]?$`},
	"ManagerSSH.port":        {Description: "SSH port.", Default: DefaultSSHPort, Minimum: num(1), Maximum: num(65535)},
	"ManagerSSH.private_key": {Description: "The private key apply authenticates with, e.g. {file: ~/.ssh/id_ed25519} or {env: SSH_PRIVATE_KEY} in CI. plan works without it and says what it could not compare."},

	"GitLabRunner.concurrent":       {Description: "How many jobs run at once over all runners.", Required: true, Minimum: num(1), Becomes: "concurrent"},
	"GitLabRunner.check_interval":   {Description: "Seconds between checks for new jobs; gitlab-runner's default (3) when left out.", Minimum: num(0), Becomes: "check_interval"},
	"GitLabRunner.log_level":        {Description: "gitlab-runner's log level; gitlab-runner's default (info) when left out.", Enum: []any{"trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"}, Becomes: "log_level"},
	"GitLabRunner.log_format":       {Description: "gitlab-runner's log format; gitlab-runner's default (runner) when left out.", Enum: []any{"runner", "text", "json"}, Becomes: "log_format"},
	"GitLabRunner.listen_address":   {Description: "host:port of the metrics and debug server, e.g. \":9252\".", Pattern: `:[0-9]+$`, Becomes: "listen_address"},
	"GitLabRunner.shutdown_timeout": {Description: "Seconds gitlab-runner waits for jobs on shutdown.", Minimum: num(0), Becomes: "shutdown_timeout"},
	"GitLabRunner.runners":          {Description: "The runners; at least one.", Required: true, Becomes: "[[runners]]"},

	"Runner.name":                {Description: "The runner's name; unique. Instances are labelled fleetctl.io/runner=<name>, so it must be a valid label value.", Required: true, Pattern: labelValue, MaxLength: 63, Becomes: "name"},
	"Runner.url":                 {Description: "The GitLab instance URL, e.g. https://gitlab.com.", Required: true, Pattern: `^https?://[^/\s]+`, Becomes: "url"},
	"Runner.token":               {Description: "The runner authentication token (glrt-...), as a secret reference.", Required: true, Becomes: "token"},
	"Runner.executor":            {Description: "gitlab-runner's executor; docker-autoscaler and instance need an autoscaler section.", Default: DefaultExecutor, Enum: []any{"docker-autoscaler", "instance", "docker", "docker-windows", "shell", "ssh", "kubernetes", "custom", "parallels", "virtualbox", "docker+machine"}, Becomes: "executor"},
	"Runner.limit":               {Description: "Most jobs this runner handles at once; 0 is no limit.", Minimum: num(0), Becomes: "limit"},
	"Runner.request_concurrency": {Description: "Concurrent requests for new jobs; at least 1 when written.", Minimum: num(1), Becomes: "request_concurrency"},
	"Runner.output_limit":        {Description: "Maximum job log size in kilobytes.", Minimum: num(0), Becomes: "output_limit"},
	"Runner.environment":         {Description: "Environment variables for every job, as NAME=VALUE.", Becomes: "environment"},
	"Runner.docker":              {Description: "The Docker executor's settings.", Becomes: "[runners.docker]"},
	"Runner.cache":               {Description: "A shared cache on S3-compatible storage (Hetzner Object Storage).", Becomes: "[runners.cache]"},
	"Runner.autoscaler":          {Description: "Autoscaling settings; required for executors docker-autoscaler and instance, refused for others.", Becomes: "[runners.autoscaler]"},

	"Docker.image":          {Description: "Default image for jobs that name none, e.g. alpine:latest.", Becomes: "image"},
	"Docker.privileged":     {Description: "Run containers privileged (needed for Docker-in-Docker).", Becomes: "privileged"},
	"Docker.volumes":        {Description: "Extra volumes, e.g. /cache or /host:/container.", Becomes: "volumes"},
	"Docker.pull_policy":    {Description: "Image pull policies, tried in order.", Becomes: "pull_policy"},
	"Docker.allowed_images": {Description: "Images jobs may use (wildcards allowed).", Becomes: "allowed_images"},
	"Docker.memory":         {Description: "Memory limit per container, e.g. \"512m\", \"2g\".", Pattern: `^[0-9]+(\.[0-9]+)?\s*([kKmMgGtTpP]?[iI]?[bB]?)$`, Becomes: "memory"},
	"Docker.cpus":           {Description: "CPUs per container, as a quoted decimal, e.g. \"1.5\".", Pattern: `^[0-9]+(\.[0-9]+)?$`, Becomes: "cpus"},
	"Docker.shm_size":       {Description: "Size of /dev/shm in bytes.", Minimum: num(0), Becomes: "shm_size"},
	"Docker.disable_cache":  {Description: "Disable the local cache volumes.", Becomes: "disable_cache"},
	"Docker.network_mode":   {Description: "Docker network mode for job containers.", Becomes: "network_mode"},
	"Docker.tmpfs":          {Description: "tmpfs mounts: absolute path in the container to mount options.", Becomes: "tmpfs"},

	"Cache.type":   {Description: "Cache type; only s3 is offered (Hetzner Object Storage).", Required: true, Enum: []any{"s3"}, Becomes: "Type"},
	"Cache.path":   {Description: "Prefix added to cache URLs.", Becomes: "Path"},
	"Cache.shared": {Description: "Share the cache between runners.", Becomes: "Shared"},
	"Cache.s3":     {Description: "S3 settings; required for type s3.", Becomes: "[runners.cache.s3]"},

	"CacheS3.server_address":  {Description: "host[:port] of the S3 endpoint, without scheme, e.g. fsn1.your-objectstorage.com.", Required: true, Pattern: `^[^/:\s]+(:[0-9]+)?$`, Becomes: "ServerAddress"},
	"CacheS3.access_key":      {Description: "Access key, as a secret reference; required with secret_key.", Becomes: "AccessKey"},
	"CacheS3.secret_key":      {Description: "Secret key, as a secret reference; required with access_key.", Becomes: "SecretKey"},
	"CacheS3.bucket_name":     {Description: "Bucket name: 3 to 63 lower-case letters, digits, . and -.", Required: true, Pattern: `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`, Becomes: "BucketName"},
	"CacheS3.bucket_location": {Description: "Bucket region, e.g. fsn1.", Becomes: "BucketLocation"},
	"CacheS3.insecure":        {Description: "Use plain http.", Becomes: "Insecure"},

	"Autoscaler.plugin":                         {Description: "fleetctl (fleetctl itself is the fleeting plugin and reads instances from this file) or hetznercloud/fleeting-plugin-hetzner:<tag> (the upstream plugin, configured through plugin_config).", Default: PluginFleetctl, Pattern: pluginPattern, Becomes: "plugin (/usr/local/bin/fleetctl for fleetctl)"},
	"Autoscaler.capacity_per_instance":          {Description: "Jobs one instance runs at once.", Required: true, Minimum: num(1), Becomes: "capacity_per_instance"},
	"Autoscaler.max_use_count":                  {Description: "Jobs an instance runs before it is deleted; 0 is unlimited. Written as given, also 0.", Minimum: num(0), Becomes: "max_use_count"},
	"Autoscaler.max_instances":                  {Description: "Most instances this runner has at once, in any state; 0 is unlimited. Required, because leaving the number of servers (and the bill) unbounded should be a written decision.", Required: true, Minimum: num(0), Becomes: "max_instances"},
	"Autoscaler.instance_ready_command":         {Description: "Command run on a new instance; it is used once this succeeds, e.g. cloud-init status --wait || test $? -eq 2.", Becomes: "instance_ready_command"},
	"Autoscaler.instance_acquire_timeout":       {Description: "Go duration: how long to wait for an instance.", Pattern: durationPattern, Becomes: "instance_acquire_timeout"},
	"Autoscaler.update_interval":                {Description: "Go duration between instance updates.", Pattern: durationPattern, Becomes: "update_interval"},
	"Autoscaler.update_interval_when_expecting": {Description: "Go duration between instance updates while waiting for one.", Pattern: durationPattern, Becomes: "update_interval_when_expecting"},
	"Autoscaler.delete_instances_on_shutdown":   {Description: "Delete all instances when gitlab-runner stops.", Becomes: "delete_instances_on_shutdown"},
	"Autoscaler.log_internal_ip":                {Description: "Log instances' internal addresses.", Becomes: "log_internal_ip"},
	"Autoscaler.log_external_ip":                {Description: "Log instances' external addresses.", Becomes: "log_external_ip"},
	"Autoscaler.state_storage":                  {Description: "Keep instance state across gitlab-runner restarts.", Becomes: "[runners.autoscaler.state_storage]"},
	"Autoscaler.scale_throttle":                 {Description: "Limit the rate of instance creation.", Becomes: "[runners.autoscaler.scale_throttle]"},
	"Autoscaler.connector_config":               {Description: "How gitlab-runner connects to instances.", Becomes: "[runners.autoscaler.connector_config]"},
	"Autoscaler.policy":                         {Description: "Scaling policies; the last whose periods match applies.", Becomes: "[[runners.autoscaler.policy]]"},
	"Autoscaler.instances":                      {Description: "The servers the plugin creates.", Required: true, Becomes: "fleetctl plugin settings, or [runners.autoscaler.plugin_config]"},

	"StateStorage.enabled":                         {Description: "Enable state storage.", Becomes: "enabled"},
	"StateStorage.dir":                             {Description: "Absolute, clean directory on the manager; not a system directory nor one fleetctl manages.", Pattern: `^/`, Becomes: "dir"},
	"StateStorage.keep_instance_with_acquisitions": {Description: "Keep instances that had jobs when gitlab-runner stopped.", Becomes: "keep_instance_with_acquisitions"},

	"ScaleThrottle.limit": {Description: "Instance creations per second.", Minimum: num(0), Becomes: "limit"},
	"ScaleThrottle.burst": {Description: "Burst of instance creations.", Minimum: num(0), Becomes: "burst"},

	"ConnectorConfig.os":                     {Description: "Instances' operating system.", Enum: []any{"linux", "windows", "darwin"}, Becomes: "os"},
	"ConnectorConfig.arch":                   {Description: "Instances' architecture (arm64 for cax server types).", Enum: []any{"amd64", "arm64", "386", "arm"}, Becomes: "arch"},
	"ConnectorConfig.protocol":               {Description: "Connection protocol; only ssh (winrm is not supported).", Enum: []any{"ssh"}, Becomes: "protocol"},
	"ConnectorConfig.protocol_port":          {Description: "Port; 0 is the protocol's default (22).", Minimum: num(0), Maximum: num(65535), Becomes: "protocol_port"},
	"ConnectorConfig.username":               {Description: "User to connect as; required with use_static_credentials.", Becomes: "username"},
	"ConnectorConfig.use_static_credentials": {Description: "Use username and key_path instead of credentials from the plugin; then both are required.", Becomes: "use_static_credentials"},
	"ConnectorConfig.keepalive":              {Description: "Go duration between keepalives.", Pattern: durationPattern, Becomes: "keepalive"},
	"ConnectorConfig.timeout":                {Description: "Go duration: connection timeout.", Pattern: durationPattern, Becomes: "timeout"},
	"ConnectorConfig.use_external_addr":      {Description: "Connect to instances' public address (the manager is not in their private network).", Becomes: "use_external_addr"},
	"ConnectorConfig.key_path":               {Description: "Absolute, clean path of a private key on the manager, for static credentials; not a system path nor a file fleetctl manages.", Pattern: `^/`, Becomes: "key_path"},

	"Policy.periods":            {Description: "5-field cron expressions (minute hour day-of-month month day-of-week) when the policy applies, as gitlab-runner's parser reads them, e.g. \"* 7-19 * * mon-fri\".", Becomes: "periods"},
	"Policy.timezone":           {Description: "IANA time zone of periods, e.g. Europe/Berlin; the manager's local time when left out.", Becomes: "timezone"},
	"Policy.idle_count":         {Description: "Idle capacity (jobs) to keep ready.", Minimum: num(0), Becomes: "idle_count"},
	"Policy.idle_time":          {Description: "Go duration an idle instance is kept: 0s, or at least 1s (gitlab-runner's minimum), e.g. 1h.", Pattern: durationPattern, Becomes: "idle_time"},
	"Policy.scale_factor":       {Description: "Idle capacity as a factor of capacity in use.", Minimum: num(0), Becomes: "scale_factor"},
	"Policy.scale_factor_limit": {Description: "Upper bound of the idle capacity scale_factor asks for.", Minimum: num(0), Becomes: "scale_factor_limit"},
	"Policy.preemptive_mode":    {Description: "Only take jobs when idle capacity is available; gitlab-runner's default is on when idle_count > 0.", Becomes: "preemptive_mode"},

	"Instances.name":                 {Description: "Name prefix of every instance (<name>-<8 hex digits>): an RFC 1123 hostname of at most 54 characters per label; unique per runner and not the manager's name.", Required: true, Pattern: hostnamePattern, Becomes: "Hetzner server name prefix; plugin_config name"},
	"Instances.location":             {Description: "Hetzner location, e.g. hel1.", Required: true, Pattern: hetznerPattern, Becomes: "Hetzner server location; plugin_config location"},
	"Instances.server_type":          {Description: "A server type, or a list to fall back through in order when Hetzner has no capacity (resource_unavailable).", Required: true, Becomes: "Hetzner server server_type; plugin_config server_type"},
	"Instances.image":                {Description: "Hetzner image name or ID, e.g. debian-12.", Required: true, Pattern: hetznerPattern, Becomes: "Hetzner server image; plugin_config image"},
	"Instances.user_data":            {Description: "cloud-init user data, passed through byte for byte (at most 32 KiB).", MaxLength: 32 * 1024, Becomes: "Hetzner server user_data; plugin_config user_data"},
	"Instances.labels":               {Description: "Labels added to the ownership, role and runner labels.", Becomes: "Hetzner server labels; plugin_config labels"},
	"Instances.private_networks":     {Description: "Networks (names or IDs) to attach.", Becomes: "plugin_config private_networks"},
	"Instances.public_ipv4_disabled": {Description: "Create instances without a public IPv4 address.", Becomes: "plugin_config public_ipv4_disabled"},
	"Instances.public_ipv6_disabled": {Description: "Create instances without a public IPv6 address; with public_ipv4_disabled, private_networks is required.", Becomes: "plugin_config public_ipv6_disabled"},
	"Instances.volume_size":          {Description: "Size in GB of a volume attached to each instance; 0 for none, else 10 to 10240.", Minimum: num(0), Maximum: num(10240), Becomes: "plugin_config volume_size"},
}

// Schema returns the JSON Schema of fleet.yaml v1, for editors
// (yaml-language-server) and `fleetctl schema`. It is draft-07, which every
// editor reads. Every field carries its description; unknown fields are
// refused as Parse refuses them.
func Schema() []byte {
	root := schemaFor(reflect.TypeOf(Fleet{}))
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["title"] = "fleet.yaml v1"
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("spec: marshal schema: %v", err))
	}
	return append(out, '\n')
}

func schemaFor(t reflect.Type) map[string]any {
	switch t {
	case typeDuration:
		return map[string]any{"type": "string", "pattern": durationPattern}
	case typeStringList:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "minLength": 1},
			map[string]any{"type": "array", "items": map[string]any{"type": "string", "minLength": 1}, "minItems": 1},
		}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaFor(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaFor(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaFor(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for _, name := range sortedKeys(structFields(t)) {
			field := t.Field(structFields(t)[name])
			doc := fieldDocs[t.Name()+"."+name]
			s := schemaFor(field.Type)
			desc := doc.Description
			if doc.Becomes != "" {
				desc += " Becomes: " + doc.Becomes + "."
			}
			s["description"] = desc
			if doc.Default != nil {
				s["default"] = doc.Default
			}
			if doc.Enum != nil {
				s["enum"] = doc.Enum
			}
			if doc.Pattern != "" {
				s["pattern"] = doc.Pattern
			}
			if doc.Minimum != nil {
				s["minimum"] = *doc.Minimum
			}
			if doc.Maximum != nil {
				s["maximum"] = *doc.Maximum
			}
			if doc.MaxLength > 0 {
				s["maxLength"] = doc.MaxLength
			}
			if doc.Required {
				required = append(required, name)
			}
			props[name] = s
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if d := typeDocs[t.Name()]; d != "" {
			s["description"] = d
		}
		if len(required) > 0 {
			s["required"] = required
		}
		if t == typeSecret {
			s["oneOf"] = []any{
				map[string]any{"required": []string{"env"}},
				map[string]any{"required": []string{"file"}},
			}
		}
		if t == reflect.TypeOf(SSHKey{}) {
			s["oneOf"] = []any{
				map[string]any{"required": []string{"public_key"}},
				map[string]any{"required": []string{"public_key_file"}},
			}
		}
		return s
	}
	panic(fmt.Sprintf("spec: no schema for %s", t))
}

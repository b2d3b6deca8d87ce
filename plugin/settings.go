package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// Settings are the keys of [runners.autoscaler.plugin_config] in
// gitlab-runner's config.toml, sent to the plugin as JSON.
type Settings struct {
	// Spec is the path of the fleet.yaml; default /etc/fleetctl/fleet.yaml.
	Spec string `json:"spec,omitempty"`
	// Runner names the runner (gitlab_runner.runners[].name) whose
	// autoscaler.instances section describes the instances.
	Runner string `json:"runner"`
	// Token is the Hetzner Cloud API token. Prefer the environment or the
	// fleet.yaml's hcloud.token reference: config.toml is not a secret store.
	Token string `json:"token,omitempty"`
	// Endpoint is the API base URL.
	Endpoint string `json:"endpoint,omitempty"`
	// KeyFile is where the generated SSH private key of the instances is
	// kept (mode 0600), so that a restarted plugin still reaches the
	// instances it created before; default
	// /var/lib/fleetctl/<fleet>-<runner>.key.
	KeyFile string `json:"key_file,omitempty"`
}

// DefaultEndpoint is Hetzner Cloud's API.
const DefaultEndpoint = "https://api.hetzner.cloud/v1"

// DefaultKeyDir holds the generated instance keys unless key_file says otherwise.
const DefaultKeyDir = "/var/lib/fleetctl"

// decodeSettings decodes plugin_config strictly: an unknown key is almost
// always a typo, and silently ignoring it would run with defaults.
func decodeSettings(raw []byte) (Settings, error) {
	var s Settings
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("plugin_config: %w (known keys: spec, runner, token, endpoint, key_file)", err)
	}
	return s, nil
}

// groupConfig is everything the instance group needs from the fleet.yaml,
// checked, with ownership labels applied.
type groupConfig struct {
	fleet  string
	runner string
	// source is the fleet.yaml the settings came from, for messages.
	source string

	name            string
	location        string
	serverTypes     []string
	image           string
	userData        string
	labels          map[string]string
	privateNetworks []string
	enableIPv4      bool
	enableIPv6      bool
	volumeSize      int
	useExternalAddr bool

	keyFile string
	// token and endpoint as configured in fleet.yaml (hcloud section).
	hcloud spec.HCloud
}

// selector is the label selector matching exactly this runner's instances
// (and the SSH key and volumes made for them).
func (c *groupConfig) selector() string {
	return fmt.Sprintf("%s=%s,%s=%s,%s=%s",
		spec.LabelFleet, c.fleet, spec.LabelRole, roleInstance, spec.LabelRunner, c.runner)
}

const roleInstance = "instance"

// ownedBy reports whether labels carry this runner's ownership labels.
func (c *groupConfig) ownedBy(labels map[string]string) bool {
	return labels[spec.LabelFleet] == c.fleet && labels[spec.LabelRole] == roleInstance && labels[spec.LabelRunner] == c.runner
}

// labelValue is Hetzner's rule for label values: empty or up to 63
// characters, alphanumeric at both ends, with -, _ and . inside.
var labelValue = regexp.MustCompile(`^([a-zA-Z0-9]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?)?$`)

// hostnameLabel is what an instance name prefix must look like so that
// "<prefix>-<8 hex>" is a valid server name (RFC 1123 label, ≤ 63).
var hostnameLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,52}[a-z0-9])?$`)

// newGroupConfig checks the runner's instances section and derives the
// group's settings. All problems are reported at once.
func newGroupConfig(fleet *spec.Fleet, runner *spec.Runner, keyFile string) (*groupConfig, error) {
	src := fleet.Source
	if src == "" {
		src = "fleet.yaml"
	}
	field := fmt.Sprintf("gitlab_runner.runners[%s]", runner.Name)
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s.%s: %s", src, field, path, fmt.Sprintf(format, args...)))
	}
	if runner.Autoscaler == nil {
		bad("autoscaler", "the runner has no autoscaler section, so no plugin drives it")
		return nil, errors.Join(errs...)
	}
	if p := runner.Autoscaler.Plugin; p != "" && p != spec.PluginFleetctl {
		bad("autoscaler.plugin", "is %q: this runner's instances are created by that plugin, not by fleetctl", p)
	}
	in := runner.Autoscaler.Instances
	c := &groupConfig{
		fleet:           fleet.Name,
		runner:          runner.Name,
		source:          src,
		name:            in.Name,
		location:        in.Location,
		serverTypes:     append([]string(nil), in.ServerType...),
		image:           in.Image,
		userData:        in.UserData,
		privateNetworks: append([]string(nil), in.PrivateNetworks...),
		enableIPv4:      !in.PublicIPv4Disabled,
		enableIPv6:      !in.PublicIPv6Disabled,
		volumeSize:      in.VolumeSize,
		hcloud:          fleet.HCloud,
	}
	if cc := runner.Autoscaler.ConnectorConfig; cc != nil {
		c.useExternalAddr = cc.UseExternalAddr
		if cc.Protocol != "" && cc.Protocol != "ssh" {
			bad("autoscaler.connector_config.protocol", "is %q: Hetzner instances are reached over ssh", cc.Protocol)
		}
	}
	if !labelValue.MatchString(fleet.Name) || fleet.Name == "" {
		errs = append(errs, fmt.Errorf("%s: name: %q is not a valid Hetzner label value (up to 63 of a-z, A-Z, 0-9, -, _, ., alphanumeric at both ends)", src, fleet.Name))
	}
	if !labelValue.MatchString(runner.Name) || runner.Name == "" {
		bad("name", "%q is not a valid Hetzner label value (up to 63 of a-z, A-Z, 0-9, -, _, ., alphanumeric at both ends); instances carry it as label %s", runner.Name, spec.LabelRunner)
	}
	pre := "autoscaler.instances."
	switch {
	case in.Name == "":
		bad(pre+"name", "is required: instances are named <name>-<8 hex digits>")
	case !hostnameLabel.MatchString(in.Name):
		bad(pre+"name", "%q must be lower-case letters, digits and -, at most 54 characters, so that <name>-<8 hex digits> is a valid server name", in.Name)
	}
	if in.Location == "" {
		bad(pre+"location", "is required (e.g. fsn1, nbg1, hel1, ash, hil, sin)")
	}
	if len(in.ServerType) == 0 {
		bad(pre+"server_type", "is required: one server type or a list to fall back through")
	}
	for i, st := range in.ServerType {
		if strings.TrimSpace(st) == "" {
			bad(fmt.Sprintf("%sserver_type[%d]", pre, i), "is empty")
		}
	}
	if in.Image == "" {
		bad(pre+"image", "is required (e.g. debian-12, ubuntu-24.04)")
	}
	if in.VolumeSize != 0 && in.VolumeSize < 10 {
		bad(pre+"volume_size", "is %d: Hetzner volumes are at least 10 GB", in.VolumeSize)
	}
	if in.PublicIPv4Disabled && in.PublicIPv6Disabled && len(in.PrivateNetworks) == 0 {
		bad(pre+"public_ipv4_disabled", "with public IPv6 disabled too and no private_networks the instances are unreachable")
	}
	labels := make(map[string]string, len(in.Labels)+3)
	for k, v := range in.Labels {
		if k == spec.LabelFleet || k == spec.LabelRole || k == spec.LabelRunner {
			bad(pre+"labels."+k, "is an ownership label fleetctl sets itself")
			continue
		}
		if !labelValue.MatchString(v) {
			bad(pre+"labels."+k, "%q is not a valid Hetzner label value", v)
		}
	}
	maps.Copy(labels, in.Labels)
	labels[spec.LabelFleet] = fleet.Name
	labels[spec.LabelRole] = roleInstance
	labels[spec.LabelRunner] = runner.Name
	c.labels = labels

	c.keyFile = keyFile
	if c.keyFile == "" {
		c.keyFile = filepath.Join(DefaultKeyDir, safeFileName(fleet.Name+"-"+runner.Name)+".key")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func safeFileName(s string) string {
	return unsafeFileChars.ReplaceAllString(s, "_")
}

// credentials resolves the API token and endpoint. Precedence, most
// explicit first (the upstream plugin lets the environment win; here a value
// written down for this runner beats one inherited from the process):
//
//	token:    plugin_config token, fleet.yaml hcloud.token, HCLOUD_TOKEN, HCLOUD_TOKEN_FILE
//	endpoint: plugin_config endpoint, fleet.yaml hcloud.endpoint, HCLOUD_ENDPOINT, Hetzner's API
//
// A fleet.yaml reference that cannot be resolved is an error, except the
// default {env: HCLOUD_TOKEN}, which simply falls through.
func credentials(s Settings, h spec.HCloud, getenv func(string) string) (token, endpoint string, err error) {
	endpoint = firstNonEmpty(s.Endpoint, h.Endpoint, getenv("HCLOUD_ENDPOINT"), DefaultEndpoint)
	if s.Token != "" {
		return s.Token, endpoint, nil
	}
	if ref := h.Token; ref != nil && *ref != (spec.Secret{Env: "HCLOUD_TOKEN"}) {
		v, err := resolveSecret(*ref, getenv)
		if err != nil {
			return "", "", fmt.Errorf("hcloud.token: %w", err)
		}
		return v, endpoint, nil
	}
	if v := getenv("HCLOUD_TOKEN"); v != "" {
		return v, endpoint, nil
	}
	if p := getenv("HCLOUD_TOKEN_FILE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", fmt.Errorf("HCLOUD_TOKEN_FILE: %w", err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, endpoint, nil
		}
		return "", "", fmt.Errorf("HCLOUD_TOKEN_FILE: %s is empty", p)
	}
	return "", "", errors.New("no Hetzner Cloud API token: set HCLOUD_TOKEN or HCLOUD_TOKEN_FILE in gitlab-runner's environment, hcloud.token in the fleet.yaml, or token in plugin_config")
}

// resolveSecret reads a {env: NAME} or {file: PATH} reference. The value
// itself never appears in an error.
func resolveSecret(ref spec.Secret, getenv func(string) string) (string, error) {
	switch {
	case ref.Env != "":
		v := getenv(ref.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", ref.Env)
		}
		return v, nil
	case ref.File != "":
		p := ref.File
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("file %s: %w", p, err)
			}
			p = filepath.Join(home, rest)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("file %s: %w", ref.File, err)
		}
		v := strings.TrimSuffix(string(b), "\n")
		if v == "" {
			return "", fmt.Errorf("file %s is empty", ref.File)
		}
		return v, nil
	}
	return "", errors.New("neither env nor file is set")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

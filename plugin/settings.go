package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
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
	// source is the fleet.yaml the settings came from, field the path of
	// the instances section and pos where a field was written, for messages.
	source string
	field  string
	pos    func(path string) spec.Pos

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

	keyFile string
	// token and endpoint as configured in fleet.yaml (hcloud section).
	hcloud spec.HCloud
}

// where names a field of the instances section for a message:
// "fleet.yaml:12:7: gitlab_runner.runners[0].autoscaler.instances.image".
func (c *groupConfig) where(sub string) string {
	path := c.field + "." + sub
	p := spec.Problem{File: c.source, Pos: c.pos(path), Path: path}
	return strings.TrimSuffix(p.Error(), ": ")
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

// newGroupConfig derives the group's settings from the runner's instances
// section. spec.Load has validated the file; what is checked here is what
// only the plugin relies on (and a Fleet built in code). All problems are
// reported at once, with the file position of the field.
func newGroupConfig(fleet *spec.Fleet, runner *spec.Runner, keyFile string) (*groupConfig, error) {
	index := 0
	for i := range fleet.GitLabRunner.Runners {
		if &fleet.GitLabRunner.Runners[i] == runner || fleet.GitLabRunner.Runners[i].Name == runner.Name {
			index = i
			break
		}
	}
	base := fmt.Sprintf("gitlab_runner.runners[%d]", index)
	var problems spec.Problems
	bad := func(path, format string, args ...any) {
		full := base + "." + path
		if path == "" {
			full = base
		}
		problems = append(problems, spec.Problem{File: fleet.Source, Pos: fleet.Pos(full), Path: full, Message: fmt.Sprintf(format, args...)})
	}
	if runner.Autoscaler == nil {
		bad("autoscaler", "runner %q has no autoscaler section, so no plugin drives it", runner.Name)
		return nil, problems
	}
	if !runner.Autoscaler.UsesFleetctlPlugin() {
		bad("autoscaler.plugin", "is %q: this runner's instances are created by that plugin, not by fleetctl", runner.Autoscaler.Plugin)
	}
	in := runner.Autoscaler.Instances
	c := &groupConfig{
		fleet:           fleet.Name,
		runner:          runner.Name,
		source:          fleet.Source,
		field:           base + ".autoscaler.instances",
		pos:             fleet.Pos,
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
		if cc.Protocol != "" && cc.Protocol != "ssh" {
			bad("autoscaler.connector_config.protocol", "is %q: Hetzner instances are reached over ssh", cc.Protocol)
		}
	}
	if fleet.Name == "" || !labelValue.MatchString(fleet.Name) {
		problems = append(problems, spec.Problem{File: fleet.Source, Pos: fleet.Pos("name"), Path: "name",
			Message: fmt.Sprintf("%q is not a valid Hetzner label value (up to 63 of a-z, A-Z, 0-9, -, _, ., alphanumeric at both ends)", fleet.Name)})
	}
	if runner.Name == "" || !labelValue.MatchString(runner.Name) {
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
	keys := make([]string, 0, len(in.Labels))
	for k := range in.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lp := fmt.Sprintf("%slabels[%q]", pre, k)
		if k == spec.LabelFleet || k == spec.LabelRole || k == spec.LabelRunner {
			bad(lp, "%s is an ownership label fleetctl sets itself", k)
			continue
		}
		if !labelValue.MatchString(in.Labels[k]) {
			bad(lp, "%q is not a valid Hetzner label value", in.Labels[k])
		}
	}
	c.labels = fleet.InstanceLabels(runner)

	c.keyFile = keyFile
	if c.keyFile == "" {
		c.keyFile = filepath.Join(DefaultKeyDir, safeFileName(fleet.Name+"-"+runner.Name)+".key")
	}
	if len(problems) > 0 {
		return nil, problems
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
		v, err := ref.Resolve()
		if err != nil {
			return "", "", fmt.Errorf("hcloud.token: %w", err)
		}
		return v, endpoint, nil
	}
	if v := getenv("HCLOUD_TOKEN"); v != "" {
		return v, endpoint, nil
	}
	if p := getenv("HCLOUD_TOKEN_FILE"); p != "" {
		b, err := spec.ReadLocalFile(p, 64<<10)
		if err != nil {
			return "", "", fmt.Errorf("HCLOUD_TOKEN_FILE %s: %w", p, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, endpoint, nil
		}
		return "", "", fmt.Errorf("HCLOUD_TOKEN_FILE: %s is empty", p)
	}
	return "", "", errors.New("no Hetzner Cloud API token: set HCLOUD_TOKEN or HCLOUD_TOKEN_FILE in gitlab-runner's environment, hcloud.token in the fleet.yaml, or token in plugin_config")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

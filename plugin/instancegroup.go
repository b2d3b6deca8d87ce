package plugin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
)

var _ provider.InstanceGroup = (*InstanceGroup)(nil)

// InstanceGroup is the fleeting instance group of one runner's instances.
// gitlab-runner decodes plugin_config into it, then calls Init.
type InstanceGroup struct {
	Settings

	// transport, retry, getenv and now are replaced in tests; zero means the real thing.
	transport http.RoundTripper
	retry     hcloudclient.Policy
	getenv    func(string) string

	log       hclog.Logger
	cfg       *groupConfig
	client    *hcloud.Client
	connector provider.ConnectorConfig

	location    *hcloud.Location
	serverTypes []*hcloud.ServerType
	image       *hcloud.Image
	networks    []*hcloud.Network
	sshKey      *hcloud.SSHKey
	ownKey      bool

	// background runs work that outlives an RPC (volume removal after a
	// server delete); Shutdown waits for it.
	background       sync.WaitGroup
	backgroundCtx    context.Context
	backgroundCancel context.CancelFunc

	mu sync.Mutex
	// known holds the state last reported per instance, to report the
	// ones that vanished as deleted once.
	known map[string]provider.State
	// seenRunning records the instances seen running, so that a later "off"
	// is read as broken rather than as still booting.
	seenRunning map[int64]bool
	// creating names volumes (and servers) being created right now, which a
	// sweep for dangling volumes must leave alone.
	creating map[string]bool
	// typeUnavailableUntil remembers server types Hetzner recently answered
	// resource_unavailable for, so later creates start at the next one.
	typeUnavailableUntil map[string]time.Time
	// increaseBackoffUntil holds Increase back after resource_limit_exceeded.
	increaseBackoffUntil time.Time
	increaseBackoff      time.Duration
	deleting             map[int64]bool
}

// UnmarshalJSON decodes plugin_config strictly (see decodeSettings).
func (g *InstanceGroup) UnmarshalJSON(b []byte) error {
	s, err := decodeSettings(b)
	if err != nil {
		return err
	}
	g.Settings = s
	return nil
}

// Tuning of the instance group.
const (
	// maxInFlight bounds concurrent create and delete requests.
	maxInFlight = 32
	// bootGrace is how long a server that was never seen running may be
	// "off": Hetzner passes through off while creating.
	bootGrace = 10 * time.Minute
	// typeUnavailableFor is how long a server type that answered
	// resource_unavailable is tried last.
	typeUnavailableFor = 5 * time.Minute
	// Increase backs off this long after resource_limit_exceeded, doubling
	// up to the cap while the limit persists.
	firstLimitBackoff = 15 * time.Second
	maxLimitBackoff   = 5 * time.Minute
	// cleanupTimeout bounds removing what a failed create left behind.
	cleanupTimeout = 2 * time.Minute
)

// Init loads the runner's instance settings from the fleet.yaml, resolves
// location, server types, image and networks once, and prepares the SSH key.
func (g *InstanceGroup) Init(ctx context.Context, log hclog.Logger, settings provider.Settings) (provider.ProviderInfo, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if g.getenv == nil {
		g.getenv = os.Getenv
	}
	if g.Spec == "" {
		g.Spec = DefaultSpecPath
	}
	fleet, runner, err := loadRunner(g.Spec, g.Runner)
	if err != nil {
		return provider.ProviderInfo{}, err
	}
	cfg, err := newGroupConfig(fleet, runner, g.KeyFile)
	if err != nil {
		return provider.ProviderInfo{}, err
	}
	g.cfg = cfg
	g.log = log.With("fleet", cfg.fleet, "runner", cfg.runner)
	token, endpoint, err := credentials(g.Settings, cfg.hcloud, g.getenv)
	if err != nil {
		return provider.ProviderInfo{}, err
	}
	g.client = newClient(token, endpoint, g.log, g.transport, g.retry)
	g.known = map[string]provider.State{}
	g.seenRunning = map[int64]bool{}
	g.creating = map[string]bool{}
	g.deleting = map[int64]bool{}
	g.typeUnavailableUntil = map[string]time.Time{}
	g.backgroundCtx, g.backgroundCancel = context.WithCancel(context.WithoutCancel(ctx))

	if err := g.resolve(ctx); err != nil {
		return provider.ProviderInfo{}, err
	}
	if err := g.prepareConnector(ctx, settings.ConnectorConfig); err != nil {
		return provider.ProviderInfo{}, err
	}
	if err := g.sweepVolumes(ctx); err != nil {
		g.log.Warn("removing dangling volumes", "err", err)
	}
	g.log.Info("instance group ready", "location", g.location.Name, "server_types", typeNames(g.serverTypes),
		"image", g.image.Name, "architecture", string(g.image.Architecture), "selector", cfg.selector())
	vi := versionInfo()
	return provider.ProviderInfo{
		ID:        "hetzner/" + g.location.Name + "/" + cfg.fleet + "/" + cfg.runner,
		MaxSize:   math.MaxInt32,
		Version:   version(),
		BuildInfo: vi.BuildInfo(),
	}, nil
}

// DefaultSpecPath is where the plugin reads the fleet.yaml unless
// plugin_config names another.
const DefaultSpecPath = "/etc/fleetctl/fleet.yaml"

func typeNames(ts []*hcloud.ServerType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ",")
}

// resolve looks location, server types, image and networks up once.
func (g *InstanceGroup) resolve(ctx context.Context) error {
	c := g.cfg
	field := c.where
	loc, _, err := g.client.Location.Get(ctx, c.location)
	if err != nil {
		return fmt.Errorf("%s: look up location %q: %w", field("location"), c.location, err)
	}
	if loc == nil {
		return fmt.Errorf("%s: unknown location %q%s", field("location"), c.location, g.available(ctx, "location"))
	}
	g.location = loc

	var arch hcloud.Architecture
	for i, name := range c.serverTypes {
		st, _, err := g.client.ServerType.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: look up server type %q: %w", field(fmt.Sprintf("server_type[%d]", i)), name, err)
		}
		if st == nil {
			return fmt.Errorf("%s: unknown server type %q%s", field(fmt.Sprintf("server_type[%d]", i)), name, g.available(ctx, "server_type"))
		}
		if i == 0 {
			arch = st.Architecture
		} else if st.Architecture != arch {
			return fmt.Errorf("%s: server type %s is %s but %s is %s: fallback types must share one architecture, since the image and the jobs' binaries depend on it",
				field(fmt.Sprintf("server_type[%d]", i)), st.Name, st.Architecture, g.serverTypes[0].Name, arch)
		}
		if len(st.Locations) > 0 && !servesLocation(st, loc) {
			g.log.Warn("server type not offered in location; creates with it will fail over to the next type", "server_type", st.Name, "location", loc.Name)
		}
		g.serverTypes = append(g.serverTypes, st)
	}

	img, _, err := g.client.Image.GetForArchitecture(ctx, c.image, arch)
	if err != nil {
		return fmt.Errorf("%s: look up image %q: %w", field("image"), c.image, err)
	}
	if img == nil {
		return fmt.Errorf("%s: no image %q for architecture %s (server type %s)", field("image"), c.image, arch, g.serverTypes[0].Name)
	}
	g.image = img

	for i, n := range c.privateNetworks {
		nw, _, err := g.client.Network.Get(ctx, n)
		if err != nil {
			return fmt.Errorf("%s: look up network %q: %w", field(fmt.Sprintf("private_networks[%d]", i)), n, err)
		}
		if nw == nil {
			return fmt.Errorf("%s: unknown network %q", field(fmt.Sprintf("private_networks[%d]", i)), n)
		}
		g.networks = append(g.networks, nw)
	}
	return nil
}

func servesLocation(st *hcloud.ServerType, loc *hcloud.Location) bool {
	for _, l := range st.Locations {
		if l.Location != nil && (l.Location.ID == loc.ID || l.Location.Name == loc.Name) {
			return true
		}
	}
	return false
}

// available lists what exists, for an error message; best effort.
func (g *InstanceGroup) available(ctx context.Context, kind string) string {
	var names []string
	switch kind {
	case "location":
		all, err := g.client.Location.All(ctx)
		if err != nil {
			return ""
		}
		for _, l := range all {
			names = append(names, l.Name)
		}
	case "server_type":
		all, err := g.client.ServerType.All(ctx)
		if err != nil {
			return ""
		}
		for _, t := range all {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return " (available: " + strings.Join(names, ", ") + ")"
}

// archName maps Hetzner's architecture to Go's, as fleeting expects it.
func archName(a hcloud.Architecture) string {
	switch a {
	case hcloud.ArchitectureX86:
		return "amd64"
	case hcloud.ArchitectureARM:
		return "arm64"
	}
	return string(a)
}

// prepareConnector fills the connector defaults (ssh as root, OS and
// architecture from the image and server type) and the credentials: the
// generated key kept in key_file, or the static ones gitlab-runner passes.
func (g *InstanceGroup) prepareConnector(ctx context.Context, cc provider.ConnectorConfig) error {
	if cc.Protocol == "" {
		cc.Protocol = provider.ProtocolSSH
	}
	if cc.Protocol != provider.ProtocolSSH {
		return fmt.Errorf("connector_config: protocol %q is not supported: Hetzner instances are reached over ssh", cc.Protocol)
	}
	if cc.Username == "" {
		cc.Username = "root"
	}
	if cc.OS == "" {
		cc.OS = "linux"
	}
	arch := archName(g.serverTypes[0].Architecture)
	if cc.Arch == "" {
		cc.Arch = arch
	} else if cc.Arch != arch {
		return fmt.Errorf("connector_config: arch is %q but server type %s is %s", cc.Arch, g.serverTypes[0].Name, arch)
	}

	var keyPEM []byte
	if cc.UseStaticCredentials {
		if len(cc.Key) == 0 {
			if cc.Password == "" {
				return errors.New("connector_config: use_static_credentials needs key_path (or a password)")
			}
			g.log.Info("using static credentials without a key; instances get no ssh key")
		}
		keyPEM = cc.Key
	} else {
		k, created, err := loadOrCreateKey(g.cfg.keyFile)
		if err != nil {
			return err
		}
		if created {
			g.log.Info("generated instance ssh key", "key_file", g.cfg.keyFile)
		} else {
			g.log.Info("reusing instance ssh key", "key_file", g.cfg.keyFile)
		}
		keyPEM = k
		cc.Key = k
	}
	if len(keyPEM) > 0 {
		pub, fp, err := authorizedKey(keyPEM)
		if err != nil {
			return fmt.Errorf("connector_config: key: %w", err)
		}
		key, owned, err := g.uploadKey(ctx, pub, fp)
		if err != nil {
			return err
		}
		g.sshKey, g.ownKey = key, owned
	}
	g.connector = cc
	return nil
}

// instanceID is the fleeting instance ID of a server: "<name>:<id>", so that
// logs name the server and every call addresses it by ID without a lookup.
func instanceID(s *hcloud.Server) string {
	return s.Name + ":" + strconv.FormatInt(s.ID, 10)
}

func parseInstanceID(id string) (int64, error) {
	_, num, ok := strings.Cut(id, ":")
	if !ok {
		num = id
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("instance %q: not an instance ID of this plugin (<name>:<server id>)", id)
	}
	return n, nil
}

// ConnectInfo reads the server fresh and returns how to reach it. A server
// that no longer exists is an error, not a crash.
func (g *InstanceGroup) ConnectInfo(ctx context.Context, id string) (provider.ConnectInfo, error) {
	info := provider.ConnectInfo{ConnectorConfig: g.connector, ID: id}
	sid, err := parseInstanceID(id)
	if err != nil {
		return info, err
	}
	s, _, err := g.client.Server.GetByID(ctx, sid)
	if err != nil {
		return info, fmt.Errorf("instance %s: %w", id, err)
	}
	if s == nil {
		return info, fmt.Errorf("instance %s: server no longer exists", id)
	}
	switch s.Status {
	case hcloud.ServerStatusDeleting, hcloud.ServerStatusStopping, hcloud.ServerStatusOff:
		return info, fmt.Errorf("instance %s: server is %s", id, s.Status)
	}
	if s.ServerType != nil {
		info.Arch = archName(s.ServerType.Architecture)
	}
	info.ExternalAddr = externalAddr(s)
	info.InternalAddr = internalAddr(s)
	if info.ExternalAddr == "" && info.InternalAddr == "" {
		return info, fmt.Errorf("instance %s: server has no address yet", id)
	}
	return info, nil
}

// externalAddr is the public IPv4, else the first address of the public
// IPv6 network (Hetzner configures <network>::1).
func externalAddr(s *hcloud.Server) string {
	if !s.PublicNet.IPv4.IsUnspecified() {
		return s.PublicNet.IPv4.IP.String()
	}
	if n := s.PublicNet.IPv6.Network; n != nil && n.IP != nil {
		ip := make(net.IP, len(n.IP.To16()))
		copy(ip, n.IP.To16())
		ip[len(ip)-1] |= 1
		return ip.String()
	}
	if !s.PublicNet.IPv6.IsUnspecified() {
		ip := make(net.IP, len(s.PublicNet.IPv6.IP.To16()))
		copy(ip, s.PublicNet.IPv6.IP.To16())
		ip[len(ip)-1] |= 1
		return ip.String()
	}
	return ""
}

// internalAddr is the first private network address. An instance without a
// private network reports its public address here too, so that
// gitlab-runner's default (use_external_addr = false) reaches it.
func internalAddr(s *hcloud.Server) string {
	for _, pn := range s.PrivateNet {
		if pn.IP != nil && !pn.IP.IsUnspecified() {
			return pn.IP.String()
		}
	}
	return externalAddr(s)
}

// Heartbeat reports an instance that is gone, off, stopping or being
// deleted as unhealthy, so that the taskscaler replaces it. It asks the API:
// a listing even seconds old would call a powered-off instance healthy.
func (g *InstanceGroup) Heartbeat(ctx context.Context, id string) error {
	sid, err := parseInstanceID(id)
	if err != nil {
		return err
	}
	s, _, err := g.client.Server.GetByID(ctx, sid)
	if err != nil {
		return fmt.Errorf("instance %s: %w", id, err)
	}
	if s == nil {
		return fmt.Errorf("instance %s: server no longer exists: %w", id, provider.ErrInstanceUnhealthy)
	}
	switch s.Status {
	case hcloud.ServerStatusOff, hcloud.ServerStatusStopping, hcloud.ServerStatusDeleting:
		return fmt.Errorf("instance %s: server is %s: %w", id, s.Status, provider.ErrInstanceUnhealthy)
	}
	return nil
}

// Suspend is not offered: Hetzner bills servers that are off.
func (g *InstanceGroup) Suspend(context.Context, []string) ([]string, error) {
	return nil, provider.ErrSuspendResumeNotSupported
}

// Resume is not offered; see Suspend.
func (g *InstanceGroup) Resume(context.Context, []string) ([]string, error) {
	return nil, provider.ErrSuspendResumeNotSupported
}

// Shutdown finishes background removals and removes the SSH key the plugin
// uploaded. The key file stays, so that a restarted plugin still reaches
// the instances that outlive it.
func (g *InstanceGroup) Shutdown(ctx context.Context) error {
	if g.client == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { g.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	g.backgroundCancel()
	if g.sshKey != nil && g.ownKey {
		if _, err := g.client.SSHKey.Delete(ctx, g.sshKey); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
			return fmt.Errorf("ssh key %s: delete: %w", g.sshKey.Name, err)
		}
		g.log.Info("removed ssh key", "name", g.sshKey.Name)
	}
	return nil
}

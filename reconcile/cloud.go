package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Cloud is the part of Hetzner Cloud that reconcile uses. Lists select by
// label and page through everything; lookups by name happen only when a
// desired resource is missing from the labelled lists, to find a same-named
// unlabelled one. Methods that start asynchronous work return its actions,
// which WaitFor waits on.
type Cloud interface {
	ListSSHKeys(ctx context.Context, labelSelector string) ([]SSHKey, error)
	ListFirewalls(ctx context.Context, labelSelector string) ([]Firewall, error)
	ListServers(ctx context.Context, labelSelector string) ([]Server, error)

	// Find* return nil and no error when nothing has the name.
	FindSSHKey(ctx context.Context, name string) (*SSHKey, error)
	FindFirewall(ctx context.Context, name string) (*Firewall, error)
	FindServer(ctx context.Context, name string) (*Server, error)
	GetServer(ctx context.Context, id int64) (*Server, error)

	CreateSSHKey(ctx context.Context, opts SSHKeyCreate) (SSHKey, error)
	UpdateSSHKey(ctx context.Context, id int64, name string, labels map[string]string) error
	DeleteSSHKey(ctx context.Context, id int64) error

	CreateFirewall(ctx context.Context, opts FirewallCreate) (Firewall, []CloudAction, error)
	UpdateFirewall(ctx context.Context, id int64, labels map[string]string) error
	SetFirewallRules(ctx context.Context, id int64, rules []FirewallRule) ([]CloudAction, error)
	ApplyFirewall(ctx context.Context, id int64, labelSelectors []string) ([]CloudAction, error)
	RemoveFirewall(ctx context.Context, id int64, labelSelectors []string) ([]CloudAction, error)
	// RemoveFirewallFromServers detaches the firewall from servers it is
	// applied to directly.
	RemoveFirewallFromServers(ctx context.Context, id int64, serverIDs []int64) ([]CloudAction, error)
	DeleteFirewall(ctx context.Context, id int64) error

	CreateServer(ctx context.Context, opts ServerCreate) (Server, []CloudAction, error)
	UpdateServer(ctx context.Context, id int64, name string, labels map[string]string) error
	ChangeServerProtection(ctx context.Context, id int64, p Protection) (CloudAction, error)
	ServerPower(ctx context.Context, id int64, op PowerOp) (CloudAction, error)
	ChangeServerType(ctx context.Context, id int64, serverType string) (CloudAction, error)
	DeleteServer(ctx context.Context, id int64) (CloudAction, error)

	// Placement groups hold nothing of the fleet: one, named after it,
	// is its apply lock (see Lock). Find returns nil when none has the
	// name, Get nil and not_found when the ID is gone.
	FindPlacementGroup(ctx context.Context, name string) (*PlacementGroup, error)
	GetPlacementGroup(ctx context.Context, id int64) (*PlacementGroup, error)
	CreatePlacementGroup(ctx context.Context, name string, labels map[string]string) (PlacementGroup, error)
	UpdatePlacementGroup(ctx context.Context, id int64, labels map[string]string) error
	DeletePlacementGroup(ctx context.Context, id int64) error

	// Pricing reads Hetzner's prices (GET /pricing): one request, for
	// every server type and primary IP in every location.
	Pricing(ctx context.Context) (*Prices, error)

	// WaitFor waits until every action finished, calling progress on each
	// update, and fails with the first action that failed.
	WaitFor(ctx context.Context, progress func(CloudAction), actions ...CloudAction) error
}

// SSHKey is a Hetzner SSH key.
type SSHKey struct {
	ID          int64
	Name        string
	PublicKey   string
	Fingerprint string
	Labels      map[string]string
}

// SSHKeyCreate are the settings of a new SSH key.
type SSHKeyCreate struct {
	Name      string
	PublicKey string
	Labels    map[string]string
}

// FirewallRule is a firewall rule in Hetzner's terms. Port is "" for
// protocols without ports.
type FirewallRule struct {
	Description    string   `json:"description,omitempty"`
	Direction      string   `json:"direction"`
	Protocol       string   `json:"protocol"`
	Port           string   `json:"port,omitempty"`
	SourceIPs      []string `json:"source_ips,omitempty"`
	DestinationIPs []string `json:"destination_ips,omitempty"`
}

// String is the rule as plans show it and as rule sets compare it:
// direction, protocol, port, the IPs sorted, then the description.
func (r FirewallRule) String() string {
	var b strings.Builder
	b.WriteString(r.Direction)
	b.WriteByte(' ')
	b.WriteString(r.Protocol)
	if r.Port != "" {
		b.WriteString(" port ")
		b.WriteString(r.Port)
	}
	if len(r.SourceIPs) > 0 {
		b.WriteString(" from ")
		b.WriteString(strings.Join(sortedCopy(r.SourceIPs), ","))
	}
	if len(r.DestinationIPs) > 0 {
		b.WriteString(" to ")
		b.WriteString(strings.Join(sortedCopy(r.DestinationIPs), ","))
	}
	if r.Description != "" {
		fmt.Fprintf(&b, " %q", r.Description)
	}
	return b.String()
}

// Firewall is a Hetzner firewall. ApplyTo holds its label selectors, the
// only way fleetctl applies a firewall; Servers the IDs of servers it was
// applied to directly (by hand), which Hetzner refuses to delete it from
// under (resource_in_use).
type Firewall struct {
	ID      int64
	Name    string
	Labels  map[string]string
	Rules   []FirewallRule
	ApplyTo []string
	Servers []int64 `json:",omitempty"`
}

// FirewallCreate are the settings of a new firewall.
type FirewallCreate struct {
	Name    string
	Labels  map[string]string
	Rules   []FirewallRule
	ApplyTo []string
}

// Protection is Hetzner's delete and rebuild protection of a server.
type Protection struct {
	Delete  bool
	Rebuild bool
}

// Server is a Hetzner server.
type Server struct {
	ID         int64
	Name       string
	Status     string
	ServerType string
	// Architecture is the server type's, "x86" or "arm".
	Architecture string
	Image        string
	Location     string
	Labels       map[string]string
	Protection   Protection
	IPv4         string
	IPv6         string
	// Created is when Hetzner created the server; not part of any
	// fingerprint.
	Created time.Time `json:"-"`
}

// ServerCreate are the settings of a new server.
type ServerCreate struct {
	Name       string
	ServerType string
	Image      string
	Location   string
	// SSHKeys are key IDs.
	SSHKeys  []int64
	UserData string
	Labels   map[string]string
}

// PowerOp is a server power action.
type PowerOp string

// The power actions reconcile uses.
const (
	PowerShutdown PowerOp = "shutdown"
	PowerOff      PowerOp = "poweroff"
	PowerOn       PowerOp = "poweron"
)

// CloudAction is one of Hetzner's asynchronous actions.
type CloudAction struct {
	ID       int64
	Command  string
	Status   string
	Progress int
	// Resources are "server: 123" and the like, as the hcloud CLI shows them.
	Resources []string
	// Error is the action's error message when it failed.
	Error string
}

// Action statuses.
const (
	ActionRunning = "running"
	ActionSuccess = "success"
	ActionError   = "error"
)

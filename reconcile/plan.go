package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Action is what a plan does to one resource, as in Terraform.
type Action rune

// The actions, with the symbols the human plan shows.
const (
	NoOp             Action = 0
	Create           Action = '+'
	Update           Action = '~'
	DeleteThenCreate Action = '∓'
	CreateThenDelete Action = '±'
	Delete           Action = '-'
)

// IsReplace reports whether the action replaces the resource.
func (a Action) IsReplace() bool {
	return a == DeleteThenCreate || a == CreateThenDelete
}

// String names the action as plan JSON and messages do.
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case DeleteThenCreate:
		return "delete-then-create"
	case CreateThenDelete:
		return "create-then-delete"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Action(%q)", rune(a))
}

// ParseAction is the inverse of String.
func ParseAction(s string) (Action, error) {
	for _, a := range []Action{NoOp, Create, Update, DeleteThenCreate, CreateThenDelete, Delete} {
		if a.String() == s {
			return a, nil
		}
	}
	return NoOp, fmt.Errorf("unknown action %q", s)
}

// MarshalText writes the action as its name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action name.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

// Kind is a kind of resource a plan addresses. Its string is the first part
// of an address: hcloud_ssh_key.dev, file.config_toml.
type Kind string

// The kinds fleetctl manages.
const (
	KindSSHKey   Kind = "hcloud_ssh_key"
	KindFirewall Kind = "hcloud_firewall"
	KindServer   Kind = "hcloud_server"
	KindFile     Kind = "file"
	KindService  Kind = "service"
)

// Addr names one resource in a plan: <kind>.<name>, e.g.
// hcloud_server.runner-manager or file.config_toml. Cloud resources are
// named by their Hetzner name, files by what they hold.
type Addr string

// NewAddr builds an address.
func NewAddr(k Kind, name string) Addr { return Addr(string(k) + "." + name) }

// Kind returns the address's kind.
func (a Addr) Kind() Kind {
	for i := 0; i < len(a); i++ {
		if a[i] == '.' {
			return Kind(a[:i])
		}
	}
	return Kind(a)
}

// Name returns the part after the kind.
func (a Addr) Name() string {
	k := a.Kind()
	if len(a) > len(k) {
		return string(a[len(k)+1:])
	}
	return ""
}

// File addresses. Each is one file on the manager.
const (
	AddrConfigTOML Addr = "file.config_toml"
	AddrFleetYAML  Addr = "file.fleet_yaml"
	AddrBinary     Addr = "file.fleetctl_binary"
	// AddrRestart is gitlab-runner's restart, planned on its own only when
	// an earlier apply wrote plugin settings and stopped before restarting.
	AddrRestart Addr = "service.gitlab-runner"
)

// RestartMarker is a file on the manager that makes a restart of
// gitlab-runner survive an apply killed between writing plugin settings and
// restarting: Apply writes "pending" before such writes and "done" after the
// restart; a plan that reads "pending" plans the restart.
const RestartMarker = "/var/lib/fleetctl/restart-gitlab-runner"

// Values are a resource's attributes as the plan shows them: strings, bools,
// numbers, lists of strings and maps of strings. Secret values never appear:
// they are the string Sensitive.
type Values map[string]any

// Sensitive stands for a secret value in Values.
const Sensitive = "(sensitive)"

// Step is one operation Apply performs for a change. Steps are decided by
// Diff and recorded in the plan, so that Apply never compares anything.
type Step string

// The steps, in the order Apply runs them within one change.
const (
	StepCreate           Step = "create"
	StepAdopt            Step = "adopt"              // add the fleet's labels to an unlabelled resource
	StepUpdate           Step = "update"             // name and labels
	StepSetRules         Step = "set_rules"          // one set_rules with the whole rule set
	StepApplyToResources Step = "apply_to_resources" // add label selectors
	StepRemoveResources  Step = "remove_from_resources"
	StepChangeProtection Step = "change_protection"
	StepChangeType       Step = "change_type" // shutdown → change_type → poweron
	StepPoweron          Step = "poweron"
	StepDelete           Step = "delete"
	StepWrite            Step = "write"
	// StepRecordDigest (re)writes the digest record of an unchanged file
	// that plan had to read whole (the record was missing or stale). It is
	// no change: Apply does it only when it writes other files anyway.
	StepRecordDigest      Step = "record_digest"
	StepRestartRunner     Step = "restart_gitlab_runner"
	StepDisableProtection Step = "disable_protection"
)

// Change is the planned change of one resource.
//
// Before and After per action, and the object a replace removes:
//
//	                  Before    After     Deposed
//	NoOp              live      live (equal to desired)
//	Create            nil       desired
//	Update            live      desired
//	DeleteThenCreate  live      desired   the live object (ID)
//	CreateThenDelete  live      desired   the live object the new one replaces
//	Delete            live      nil
//
// In a replace, "live" is the object at ID. That is the deposed object
// itself, unless an apply that created the new object was interrupted
// before it deleted the deposed one: then ID is the new object, found under
// its temporary name, and the plan holds only the steps left.
type Change struct {
	Addr   Addr   `json:"address"`
	Action Action `json:"action"`
	// Reason explains a replace or a delete to humans. It is never used to
	// decide anything at apply time.
	Reason string `json:"reason,omitempty"`
	// ID is the live resource's Hetzner ID, 0 when it does not exist yet.
	ID     int64  `json:"id,omitempty"`
	Before Values `json:"before,omitempty"`
	After  Values `json:"after,omitempty"`
	// Deposed is the object a replace removes, kept apart from the object
	// that takes its place, as Terraform keeps a deposed object: Apply
	// deletes this ID and never one a create returned. Set on every
	// replace Diff plans; a plan saved without it deletes ID.
	Deposed *DeposedObject `json:"deposed,omitempty"`
	// TemporaryName is the name a CreateThenDelete creates the new object
	// under while the deposed object still holds the final name (Hetzner
	// names are unique per project). Its last step (StepUpdate) renames
	// the new object once the deposed one is gone.
	TemporaryName string `json:"temporary_name,omitempty"`
	// SensitiveChanges names attributes whose secret value changes; both
	// sides show only Sensitive.
	SensitiveChanges []string `json:"sensitive_changes,omitempty"`
	// ForcesReplacement names the attributes that force a replace.
	ForcesReplacement []string `json:"forces_replacement,omitempty"`
	// Steps are what Apply will do, in order. In a replace,
	// disable_protection and delete act on the deposed object and every
	// other step on the new one; a CreateThenDelete runs its steps from
	// the deposed object's first in the delete pass, after the manager's
	// files are written.
	Steps []Step `json:"steps,omitempty"`
}

// DeposedObject is the live object a replace removes.
type DeposedObject struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// deposedID is the ID of the object the change's delete steps remove: the
// deposed object's, or, in a plan saved without one, the change's own.
func (ch Change) deposedID() int64 {
	if ch.Deposed != nil {
		return ch.Deposed.ID
	}
	return ch.ID
}

// resumesReplace reports whether the change finishes a replace whose new
// object an interrupted apply already created: only the deposed object's
// deletion and what follows it are left.
func (ch Change) resumesReplace() bool {
	return ch.Action.IsReplace() && ch.Deposed != nil && ch.ID != 0 && ch.ID != ch.Deposed.ID
}

// Instance is an autoscaled server the plugin owns: reported, never changed.
type Instance struct {
	Name       string `json:"name"`
	ID         int64  `json:"id"`
	Status     string `json:"status"`
	ServerType string `json:"server_type,omitempty"`
	Runner     string `json:"runner,omitempty"`
}

// Note says what a plan could not compare and why, e.g.
// "file.config_toml: not compared: manager.ssh.private_key: environment
// variable SSH_PRIVATE_KEY is not set".
type Note struct {
	// Subject is an address or a thing such as "runner token".
	Subject string `json:"subject"`
	Message string `json:"message"`
	// Blocking is set when apply cannot proceed while the note stands: a
	// secret it needs is missing, or a file cannot be managed as asked.
	Blocking bool `json:"blocking,omitempty"`
}

// String formats the note for humans.
func (n Note) String() string { return n.Subject + ": not compared: " + n.Message }

// Mode is what a plan converges to, as Terraform's plan modes.
type Mode string

// The plan modes. A normal plan converges to fleet.yaml; a destroy plan
// (PlanDestroy) deletes everything the fleet owns and is applied only by
// destroy, with the fleet's name as confirmation.
const (
	ModeNormal  Mode = ""
	ModeDestroy Mode = "destroy"
)

// String names the mode as messages do.
func (m Mode) String() string {
	if m == ModeNormal {
		return "normal"
	}
	return string(m)
}

// Plan is the result of Diff: data, rendered by planview and executed by Apply.
type Plan struct {
	// Fleet is the fleet's name.
	Fleet string `json:"fleet"`
	// Mode is ModeNormal (left out of JSON, so that plans saved before
	// destroy plans existed read back unchanged) or ModeDestroy.
	Mode Mode `json:"mode,omitempty"`
	// Changes holds one entry per managed resource, NoOp included, sorted
	// by address.
	Changes []Change `json:"changes"`
	// Instances are the plugin's autoscaled servers, sorted by name.
	Instances []Instance `json:"instances,omitempty"`
	// NotCompared lists what the plan could not compare, sorted.
	NotCompared []Note `json:"not_compared,omitempty"`
	// Errors are conflicts that make the plan impossible to apply as is,
	// such as an unlabelled resource with a desired name.
	Errors []string `json:"errors,omitempty"`
	// Cost is what the plan does to the bill (see EstimateCost); nil when
	// nothing asked for it. It plays no part in Apply.
	Cost *Cost `json:"cost,omitempty"`
	// LiveFingerprint digests the live state the plan observed (without
	// the plugin's instances, which come and go). A saved plan is refused
	// when it changed.
	LiveFingerprint string `json:"live_fingerprint"`
	// DesiredFingerprint digests the desired state, secrets included only
	// through a keyed digest. A saved plan is refused when fleet.yaml or a
	// secret changed since.
	DesiredFingerprint string `json:"desired_fingerprint"`
	// UpstreamGroups, in a destroy plan, are the upstream plugin's
	// instance groups: Apply lists their servers again after deleting the
	// planned ones, for those a still-running plugin created meanwhile.
	UpstreamGroups []UpstreamGroup `json:"upstream_groups,omitempty"`
}

// Counts are the numbers a plan summary and GitLab's terraform report show.
type Counts struct {
	Add, Change, Destroy int
}

// Counts counts the plan's changes as Terraform does: a replace counts once
// as an add and once as a destroy; one whose new object exists already
// (resumed after an interrupted apply) as a change and a destroy.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, ch := range p.Changes {
		switch {
		case ch.Action == Create:
			c.Add++
		case ch.Action == Update:
			c.Change++
		case ch.Action == Delete:
			c.Destroy++
		case ch.resumesReplace():
			// The new object exists: it is renamed, the old one destroyed.
			c.Change++
			c.Destroy++
		case ch.Action.IsReplace():
			c.Add++
			c.Destroy++
		}
	}
	return c
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, ch := range p.Changes {
		if ch.Action != NoOp {
			return true
		}
	}
	return false
}

// Change returns the change for an address, or nil.
func (p *Plan) Change(a Addr) *Change {
	for i := range p.Changes {
		if p.Changes[i].Addr == a {
			return &p.Changes[i]
		}
	}
	return nil
}

// IsDestructive reports whether the plan deletes or replaces anything.
func (p *Plan) IsDestructive() bool {
	for _, ch := range p.Changes {
		if ch.Action == Delete || ch.Action.IsReplace() {
			return true
		}
	}
	return false
}

func (p *Plan) sort() {
	sort.SliceStable(p.Changes, func(i, j int) bool { return addrLess(p.Changes[i].Addr, p.Changes[j].Addr) })
	sort.Slice(p.Instances, func(i, j int) bool { return p.Instances[i].Name < p.Instances[j].Name })
	sort.Slice(p.NotCompared, func(i, j int) bool {
		if p.NotCompared[i].Subject != p.NotCompared[j].Subject {
			return p.NotCompared[i].Subject < p.NotCompared[j].Subject
		}
		return p.NotCompared[i].Message < p.NotCompared[j].Message
	})
	sort.Strings(p.Errors)
}

func addrLess(a, b Addr) bool {
	ra, rb := kindRank(a.Kind()), kindRank(b.Kind())
	if ra != rb {
		return ra < rb
	}
	if a.Kind() == KindFile {
		return fileRank[a] < fileRank[b]
	}
	return a < b
}

// fileRank orders the manager's files as Apply writes them: the directories
// that hold them first, then the binary and the fleet.yaml copy the plugin
// reads, config.toml (which makes gitlab-runner start the plugin) last.
var fileRank = map[Addr]int{AddrConfigDir: 0, AddrFleetYAMLDir: 1, AddrStateDir: 2, AddrBinary: 3, AddrFleetYAML: 4, AddrConfigTOML: 5}

// normalizeValues returns v as it reads after a JSON round trip, so that
// plans built in memory and plans read from a file compare and print alike.
// It never fails: a value nested deeper than MaxDocumentDepth is cut there
// (tooDeepValue), and one JSON cannot hold reads "(unreadable: not JSON)".
func normalizeValues(v Values) Values {
	if v == nil {
		return nil
	}
	out := make(Values, len(v))
	for k, value := range v {
		b, err := json.Marshal(boundDepth(value, MaxDocumentDepth))
		var back any
		if err == nil {
			err = json.Unmarshal(b, &back)
		}
		if err != nil {
			back = "(unreadable: not JSON)"
		}
		out[k] = back
	}
	return out
}

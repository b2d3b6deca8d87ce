package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/fleetctl/fleetctl/spec"
)

// Labels fleetctl sets on the manager besides the ownership labels. Hetzner
// returns neither a server's user_data nor its SSH keys, so their digests
// are recorded as labels; the host key's fingerprint is recorded so that SSH
// can verify the manager forever.
const (
	LabelSSHHostKey = "fleetctl.io/ssh-host-key"
	LabelUserData   = "fleetctl.io/user-data"
	LabelSSHKeys    = "fleetctl.io/ssh-keys"
)

// Roles fleetctl manages itself. Resources with the fleet label and any other
// role (the plugin's instances and SSH key) are the plugin's.
const (
	RoleSSHKey   = "ssh-key"
	RoleFirewall = "firewall"
	RoleManager  = "manager"
	RoleInstance = "instance"
)

// Desired is what fleet.yaml asks for, resolved: secrets read where they
// could be, files rendered. Build it with NewDesired.
type Desired struct {
	Fleet string
	// UpstreamGroups are the instance groups of runners that use the
	// upstream plugin, whose servers plan lists.
	UpstreamGroups []UpstreamGroup
	SSHKeys        []DesiredSSHKey
	Firewalls      []DesiredFirewall
	Manager        DesiredServer
	// Files are the manager's files, in the order Apply writes them.
	Files []DesiredFile
	// Notes say what could not be resolved (a secret that is not set).
	Notes []Note
	// Secrets are the secret values resolved for this command; Diff
	// masks them wherever they appear in the plan.
	Secrets *Secrets

	// userData renders the manager's cloud-init with a freshly generated
	// SSH host key and returns it with the key's fingerprint label value.
	userData func() (userData []byte, hostKeyFingerprint string, err error)
}

// DesiredSSHKey is an SSH key as fleet.yaml asks for it.
type DesiredSSHKey struct {
	Name      string
	PublicKey string
	// Labels include the ownership labels and the role.
	Labels map[string]string
}

// DesiredFirewall is a firewall as fleet.yaml asks for it.
type DesiredFirewall struct {
	Name    string
	Labels  map[string]string
	Rules   []FirewallRule
	ApplyTo []string
}

// DesiredServer is the manager as fleet.yaml asks for it.
type DesiredServer struct {
	Name       string
	ServerType string
	Image      string
	Location   string
	// SSHKeys are names of keys under ssh_keys.
	SSHKeys    []string
	Protection bool
	// Labels are the user's labels plus ownership, role and the digests
	// of user_data and SSH keys (LabelUserData, LabelSSHKeys).
	Labels map[string]string
	// Architecture is what the server type runs: "x86" or "arm".
	Architecture string
	// SSHUser and SSHPort are how Apply reaches it.
	SSHUser string
	SSHPort int
}

// FileFormat says how a file is compared.
type FileFormat int

const (
	// FormatBytes compares SHA-256 digests.
	FormatBytes FileFormat = iota
	// FormatTOML compares decoded TOML key by key, ignoring the keys
	// gitlab-runner writes back itself.
	FormatTOML
	// FormatYAML compares decoded YAML key by key.
	FormatYAML
	// FormatDirectory is a directory whose owner and mode are compared.
	FormatDirectory
)

// DesiredFile is one file on the manager.
type DesiredFile struct {
	Addr   Addr
	Path   string
	Mode   fs.FileMode
	Format FileFormat
	// Content is what Apply writes. It may hold secrets and is never
	// shown, logged or saved. It is nil when Source is set.
	Content []byte
	// Source, when set, is a local file whose bytes Apply writes, read
	// only then (the plugin binary: tens of megabytes that plan needs
	// only the digest of). Size is its size in bytes.
	Source string
	Size   int64
	// Masked is Content with every secret replaced by a mask, for
	// display (FormatTOML only).
	Masked []byte
	// Unknown marks values of Content that stand in for secrets that
	// could not be read: keys whose value contains it are not compared.
	Unknown string
	// Ignore reports keys never compared: what gitlab-runner writes back
	// into config.toml itself.
	Ignore func(key string) bool `json:"-"`
	// RestartKey reports whether a change of the TOML key (a flattened
	// path such as runners[0].autoscaler.max_instances) needs
	// gitlab-runner restarted.
	RestartKey func(key string) bool `json:"-"`
	// DigestRecord, when set, is the path of a record of the file's
	// SHA-256, size and mtime that Apply writes after the file: plan
	// trusts the recorded digest while size and mtime match, and reads
	// the file whole otherwise (FormatBytes only).
	DigestRecord string
	// RestartOnChange says any change of the file needs gitlab-runner
	// restarted (the plugin binary).
	RestartOnChange bool
	// NotManagedReason, when set, says why the file cannot be managed
	// (e.g. a plugin binary for another architecture); it becomes a
	// blocking note.
	NotManagedReason string

	// digest caches SHA256 of the content, which plan needs several
	// times; for a Source file it is computed once, when the file is
	// opened.
	digest string
}

// SHA256 is the hex digest of the content.
func (f DesiredFile) SHA256() string {
	if f.digest != "" {
		return f.digest
	}
	s := sha256.Sum256(f.Content)
	return hex.EncodeToString(s[:])
}

// ContentSize is the length of what Apply writes.
func (f DesiredFile) ContentSize() int64 {
	if f.Source != "" {
		return f.Size
	}
	return int64(len(f.Content))
}

// readContent returns what Apply writes: Content, or the Source file read
// now. A Source file that no longer has the digest plan compared is an
// error: writing it would install what the plan did not show.
func (f DesiredFile) readContent() ([]byte, error) {
	if f.Source == "" {
		return f.Content, nil
	}
	// One byte more than planned is enough to tell it changed.
	data, err := spec.ReadLocalFile(f.Source, f.Size+1)
	var tooLarge *spec.TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%s changed since it was planned (larger than the %d bytes planned)", f.Source, f.Size)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Source, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256() {
		return nil, fmt.Errorf("%s changed since it was planned (sha256 %s, planned %s)", f.Source, got, f.SHA256())
	}
	return data, nil
}

// Live is what exists: every resource carrying the fleet label, the
// same-named unlabelled resources found for desired names, and the
// manager's files.
type Live struct {
	SSHKeys   []SSHKey
	Firewalls []Firewall
	// Servers are the manager and the fleetctl plugin's instances.
	Servers []Server
	// UpstreamInstances are the servers the upstream plugin created for
	// the fleet's runners (see UpstreamGroup).
	UpstreamInstances []Server
	// Unlabelled are resources without the fleet label that carry a
	// desired resource's name, by address.
	UnlabelledSSHKeys   map[string]SSHKey
	UnlabelledFirewalls map[string]Firewall
	UnlabelledServers   map[string]Server
	// Files are the manager's files that were read, by address.
	Files map[Addr]LiveFile
	// FileNotes say why files could not be read.
	FileNotes []Note
	// RestartPending is set when the manager's restart marker says an
	// earlier apply changed plugin settings and stopped before it
	// restarted gitlab-runner.
	RestartPending bool
	// RestartUnreadable, when set, says why the restart marker could not
	// be read (it is a directory, or too large): the restart it may owe
	// is planned to be sure, and Apply writes the marker over it.
	RestartUnreadable string
	// FilesPending, when set, says why the files of an existing manager
	// were not read although Apply will be able to write them (the server
	// is off or still starting): they are written blind.
	FilesPending string
}

// LiveFile is a file read from the manager.
type LiveFile struct {
	Exists bool
	// Mode holds the permission bits with setuid, setgid and sticky.
	Mode fs.FileMode
	// Owner is the numeric "uid:gid"; "" when the server did not say.
	Owner string
	// Unreadable, when set, says why the content was not read ("unreadable:
	// too large, N bytes"): the file exists but is not what fleetctl
	// writes, and Apply replaces it.
	Unreadable string
	// IsDir says a directory sits where the file belongs: Apply clears it
	// before writing the file.
	IsDir bool
	// Content is set for files compared by content (config.toml,
	// fleet.yaml); never shown or saved.
	Content []byte
	// Digest is the SHA-256 hex digest of the content.
	Digest string
	// Recorded says the digest came from the file's digest record (see
	// DesiredFile.DigestRecord), the file was not read.
	Recorded bool
}

// Fingerprint digests what the plan observed of the live state: the managed
// resources, unlabelled same-named ones and the files' digests. The
// plugin's instances are left out: they come and go, and apply never
// touches them.
func (l *Live) Fingerprint() string {
	type fileFP struct {
		Addr       Addr
		Exists     bool
		Mode       fs.FileMode
		Owner      string
		Unreadable string
		Digest     string
	}
	var v struct {
		SSHKeys   []SSHKey
		Firewalls []Firewall
		Servers   []Server
		UK        []SSHKey
		UF        []Firewall
		US        []Server
		Files     []fileFP
		Notes     []Note
	}
	for _, k := range l.SSHKeys {
		if isManagedRole(k.Labels, RoleSSHKey) || lostRole(k.Labels) {
			v.SSHKeys = append(v.SSHKeys, k)
		}
	}
	for _, f := range l.Firewalls {
		if isManagedRole(f.Labels, RoleFirewall) || lostRole(f.Labels) {
			f.Rules = sortedRules(f.Rules)
			v.Firewalls = append(v.Firewalls, f)
		}
	}
	for _, s := range l.Servers {
		if isManagedRole(s.Labels, RoleManager) || lostRole(s.Labels) {
			v.Servers = append(v.Servers, s)
		}
	}
	for _, k := range sortedKeys(l.UnlabelledSSHKeys) {
		v.UK = append(v.UK, l.UnlabelledSSHKeys[k])
	}
	for _, k := range sortedKeys(l.UnlabelledFirewalls) {
		v.UF = append(v.UF, l.UnlabelledFirewalls[k])
	}
	for _, k := range sortedKeys(l.UnlabelledServers) {
		v.US = append(v.US, l.UnlabelledServers[k])
	}
	for _, a := range sortedKeys(l.Files) {
		f := l.Files[a]
		v.Files = append(v.Files, fileFP{a, f.Exists, f.Mode, f.Owner, f.Unreadable, f.Digest})
	}
	v.Notes = append(append([]Note(nil), l.FileNotes...), Note{Subject: "pending", Message: l.FilesPending})
	if l.RestartPending {
		v.Notes = append(v.Notes, Note{Subject: string(AddrRestart), Message: "pending " + l.RestartUnreadable})
	}
	sort.Slice(v.SSHKeys, func(i, j int) bool { return v.SSHKeys[i].ID < v.SSHKeys[j].ID })
	sort.Slice(v.Firewalls, func(i, j int) bool { return v.Firewalls[i].ID < v.Firewalls[j].ID })
	sort.Slice(v.Servers, func(i, j int) bool { return v.Servers[i].ID < v.Servers[j].ID })
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Fingerprint digests the desired state. File contents enter only as
// digests, so the fingerprint reveals no secret.
func (d *Desired) Fingerprint() string {
	type fileFP struct {
		Addr   Addr
		Path   string
		Mode   fs.FileMode
		Digest string
	}
	v := struct {
		Fleet     string
		SSHKeys   []DesiredSSHKey
		Firewalls []DesiredFirewall
		Manager   DesiredServer
		Files     []fileFP
		Notes     []Note
	}{Fleet: d.Fleet, SSHKeys: d.SSHKeys, Firewalls: d.Firewalls, Manager: d.Manager, Notes: d.Notes}
	for _, f := range d.Files {
		v.Files = append(v.Files, fileFP{f.Addr, f.Path, f.Mode, f.SHA256()})
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// isManagedRole reports whether labels carry the given role.
func isManagedRole(labels map[string]string, role string) bool {
	return labels[spec.LabelRole] == role
}

// lostRole reports whether labels carry no role: a resource of the fleet
// (listed by the fleet label) whose role label was removed by hand. The
// plugin always sets one, so Diff takes such a resource for the desired
// resource of its name and restores its labels, and never prunes it.
func lostRole(labels map[string]string) bool {
	return labels[spec.LabelRole] == ""
}

// restoreLabelsReason explains the update of a resource that lost its role.
const restoreLabelsReason = "labels changed outside fleetctl (no " + spec.LabelRole + "): restore them"

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedCopy(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

func sortedRules(rs []FirewallRule) []FirewallRule {
	out := append([]FirewallRule(nil), rs...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

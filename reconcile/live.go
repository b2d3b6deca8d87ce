package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetctl/fleetctl/internal/crash"
	"github.com/fleetctl/fleetctl/reconcile/sshremote"
	"github.com/fleetctl/fleetctl/spec"
)

// Files are the manager's files and commands, reached over SSH.
type Files interface {
	// ReadFile returns the regular file's content and attributes (owner
	// through sshremote.Owner), reading at most limit bytes and never
	// following a symbolic link. A missing file is an error wrapping
	// fs.ErrNotExist; a larger one a *sshremote.TooLargeError, anything
	// but a regular file a *sshremote.NotRegularError.
	ReadFile(ctx context.Context, path string, limit int64) ([]byte, fs.FileInfo, error)
	// Stat returns the file's attributes without reading it (mtime in
	// whole seconds); a missing file is an error wrapping fs.ErrNotExist.
	Stat(ctx context.Context, path string) (fs.FileInfo, error)
	// WriteFile replaces the file atomically with a fresh mtime.
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// Chtimes sets the file's modification time (whole seconds).
	Chtimes(ctx context.Context, path string, mtime time.Time) error
	// Chown and Chmod set a file's or directory's numeric owner and
	// group, and its permission bits.
	Chown(ctx context.Context, path string, uid, gid int) error
	Chmod(ctx context.Context, path string, mode fs.FileMode) error
	// RemoveDir removes an empty directory; Rename moves a file or
	// directory to a path that does not exist.
	RemoveDir(ctx context.Context, path string) error
	Rename(ctx context.Context, path, to string) error
	// Run runs a shell command.
	Run(ctx context.Context, cmd string) (stdout, stderr []byte, err error)
	Close() error
}

// Endpoint says how to reach the manager over SSH.
type Endpoint struct {
	// Addr is host:port.
	Addr string
	User string
	// HostKeyFingerprint is the LabelSSHHostKey value the host key must
	// match.
	HostKeyFingerprint string
}

// Connector opens the manager's Files. Wait, when set, retries until the
// manager accepts SSH (after a create or a power on).
type Connector interface {
	Connect(ctx context.Context, ep Endpoint, wait bool) (Files, error)
}

// ReadOptions are what ReadLive needs besides the cloud.
type ReadOptions struct {
	// Connector reaches the manager. Nil means the manager's files are not
	// read; NoConnectorReason then says why.
	Connector         Connector
	NoConnectorReason string
	// early is a connection to the manager opened while the desired state
	// was built (see dialManagerEarly), or nil.
	early *earlyDial
}

// earlyDial is an SSH connection to the manager opened from the lists
// alone, so that its handshake overlaps the hashing of the plugin binary.
type earlyDial struct {
	serverID int64
	files    Files
	err      error
	taken    bool
}

// dialManagerEarly connects to the fleet's manager as the lists show it
// when readFiles surely would: the labelled server of the manager's name,
// running, with a host key label and an address. It returns nil otherwise;
// readFiles then decides on its own.
func dialManagerEarly(ctx context.Context, f *spec.Fleet, l *Live, c Connector) *earlyDial {
	if c == nil {
		return nil
	}
	for _, s := range l.Servers {
		if s.Labels[spec.LabelRole] != RoleManager || s.Name != f.Manager.Name {
			continue
		}
		if s.Status != "running" || s.Labels[LabelSSHHostKey] == "" || s.IPv4 == "" {
			return nil
		}
		m := DesiredServer{Name: f.Manager.Name, SSHUser: f.Manager.SSH.User, SSHPort: f.Manager.SSH.Port}
		files, err := c.Connect(ctx, ManagerEndpoint(m, s), false)
		return &earlyDial{serverID: s.ID, files: files, err: err}
	}
	return nil
}

// take returns the connection when it is to the given server.
func (e *earlyDial) take(serverID int64) (Files, error, bool) {
	if e == nil || e.taken || e.serverID != serverID {
		return nil, nil, false
	}
	e.taken = true
	return e.files, e.err, true
}

// closeUnused closes the connection unless it was taken.
func (e *earlyDial) closeUnused() {
	if e != nil && !e.taken && e.files != nil {
		e.files.Close()
	}
}

// ReadLive reads the live state of the fleet: one label-filtered list per
// kind (SSH keys, firewalls, servers — the fleetctl plugin's instances
// included), one more of the upstream plugin's servers when a runner uses
// it, then, only for desired resources missing from those lists, a lookup
// by name to find unlabelled namesakes, then the manager's files over SSH.
func ReadLive(ctx context.Context, c Cloud, d *Desired, opts ReadOptions) (*Live, error) {
	l, err := ListOwned(ctx, c, d.Fleet, d.UpstreamGroups)
	if err != nil {
		return nil, err
	}
	return l, CompleteLive(ctx, c, d, l, opts)
}

// ListOwned makes the label-filtered lists, concurrently: the fleet's SSH
// keys, firewalls and servers, and, only when upstream is not empty, the
// upstream plugin's servers (UpstreamSelector), of which it keeps those of
// the given groups. It needs only fleet.yaml, so it can run while the
// desired state is built.
func ListOwned(ctx context.Context, c Cloud, fleet string, upstream []UpstreamGroup) (*Live, error) {
	sel := spec.LabelFleet + "=" + fleet
	l := &Live{
		UnlabelledSSHKeys:   map[string]SSHKey{},
		UnlabelledFirewalls: map[string]Firewall{},
		UnlabelledServers:   map[string]Server{},
		Files:               map[Addr]LiveFile{},
	}
	var wg sync.WaitGroup
	var errKeys, errFws, errSrvs, errUpstream error
	var upstreamServers []Server
	wg.Add(3)
	go func() { defer wg.Done(); defer crash.Recover(&errKeys); l.SSHKeys, errKeys = c.ListSSHKeys(ctx, sel) }()
	go func() { defer wg.Done(); defer crash.Recover(&errFws); l.Firewalls, errFws = c.ListFirewalls(ctx, sel) }()
	go func() { defer wg.Done(); defer crash.Recover(&errSrvs); l.Servers, errSrvs = c.ListServers(ctx, sel) }()
	if len(upstream) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer crash.Recover(&errUpstream)
			upstreamServers, errUpstream = c.ListServers(ctx, UpstreamSelector)
		}()
	}
	wg.Wait()
	if err := errors.Join(errKeys, errFws, errSrvs, errUpstream); err != nil {
		return nil, err
	}
	l.UpstreamInstances = upstreamInstances(upstream, upstreamServers, l.Servers)
	return l, nil
}

// upstreamInstances keeps the servers of the given groups, leaving out any
// that carries the fleet's label too (listed already).
func upstreamInstances(groups []UpstreamGroup, servers, owned []Server) []Server {
	ownedIDs := map[int64]bool{}
	for _, s := range owned {
		ownedIDs[s.ID] = true
	}
	var out []Server
	for _, s := range servers {
		if _, ok := upstreamGroupOf(groups, s); ok && !ownedIDs[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// CompleteLive adds to the lists what only the desired state tells to look
// for: unlabelled namesakes, and the manager's files.
func CompleteLive(ctx context.Context, c Cloud, d *Desired, l *Live, opts ReadOptions) error {
	defer opts.early.closeUnused()
	if err := findNamesakes(ctx, c, d, l); err != nil {
		return err
	}
	return readFiles(ctx, d, l, opts)
}

func findNamesakes(ctx context.Context, c Cloud, d *Desired, l *Live) error {
	labelled := map[Kind]map[string]bool{KindSSHKey: {}, KindFirewall: {}, KindServer: {}}
	for _, k := range l.SSHKeys {
		labelled[KindSSHKey][k.Name] = true
	}
	for _, f := range l.Firewalls {
		labelled[KindFirewall][f.Name] = true
	}
	for _, s := range l.Servers {
		labelled[KindServer][s.Name] = true
	}
	// The lookups run concurrently: on a fleet's first plan every
	// resource is missing, and their round trips need not add up.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	lookup := func(find func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := recovered(find); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	foreign := func(labels map[string]string) bool { return labels[spec.LabelFleet] != d.Fleet }
	for _, k := range d.SSHKeys {
		if labelled[KindSSHKey][k.Name] {
			continue
		}
		lookup(func() error {
			found, err := c.FindSSHKey(ctx, k.Name)
			if err == nil && found != nil && foreign(found.Labels) {
				mu.Lock()
				l.UnlabelledSSHKeys[k.Name] = *found
				mu.Unlock()
			}
			return err
		})
	}
	for _, f := range d.Firewalls {
		if labelled[KindFirewall][f.Name] {
			continue
		}
		lookup(func() error {
			found, err := c.FindFirewall(ctx, f.Name)
			if err == nil && found != nil && foreign(found.Labels) {
				mu.Lock()
				l.UnlabelledFirewalls[f.Name] = *found
				mu.Unlock()
			}
			return err
		})
	}
	if name := d.Manager.Name; name != "" && !labelled[KindServer][name] {
		lookup(func() error {
			found, err := c.FindServer(ctx, name)
			if err == nil && found != nil && foreign(found.Labels) {
				mu.Lock()
				l.UnlabelledServers[name] = *found
				mu.Unlock()
			}
			return err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// liveManager returns the labelled manager of the desired one (see
// liveManagers), or nil.
func liveManager(d *Desired, l *Live) *Server {
	m, _ := liveManagers(d, l)
	return m
}

// ManagerEndpoint is how to reach a manager server over SSH.
func ManagerEndpoint(m DesiredServer, s Server) Endpoint {
	port := m.SSHPort
	if port == 0 {
		port = 22
	}
	return Endpoint{
		Addr:               net.JoinHostPort(s.IPv4, strconv.Itoa(port)),
		User:               m.SSHUser,
		HostKeyFingerprint: s.Labels[LabelSSHHostKey],
	}
}

// readFiles reads the manager's files into l, or notes why it could not.
// Its only error is a host key mismatch: never a note (see
// HostKeyMismatchError).
func readFiles(ctx context.Context, d *Desired, l *Live, opts ReadOptions) error {
	if len(d.Files) == 0 {
		return nil
	}
	m := liveManager(d, l)
	if m == nil {
		return nil // created by the plan: every file is new
	}
	note := func(msg string, blocking bool) {
		for _, f := range d.Files {
			// A directory is compared only along with its files.
			if f.NotManagedReason == "" && f.Format != FormatDirectory {
				l.FileNotes = append(l.FileNotes, Note{Subject: string(f.Addr), Message: msg, Blocking: blocking})
			}
		}
	}
	switch {
	case opts.Connector == nil:
		note(opts.NoConnectorReason, true)
		return nil
	case m.Status != "running":
		l.FilesPending = fmt.Sprintf("server %s is %s", m.Name, m.Status)
		return nil
	case m.Labels[LabelSSHHostKey] == "":
		note(fmt.Sprintf("server %s has no label %s: its SSH host key cannot be verified, so fleetctl does not connect "+
			"(restore the label or replace the server)", m.Name, LabelSSHHostKey), true)
		return nil
	case m.IPv4 == "":
		note(fmt.Sprintf("server %s has no public IPv4 address to reach it over SSH", m.Name), true)
		return nil
	}
	ep := ManagerEndpoint(d.Manager, *m)
	files, err, ok := opts.early.take(m.ID)
	if !ok {
		files, err = opts.Connector.Connect(ctx, ep, false)
	}
	if mismatch := hostKeyMismatch(*m, ep, err); mismatch != nil {
		return mismatch
	}
	switch {
	case errors.Is(err, sshremote.ErrAuthFailed):
		// Never talk to a host that is not the manager, nor guess.
		note(fmt.Sprintf("ssh %s: %v", m.Name, err), true)
		return nil
	case err != nil && ctx.Err() == nil:
		// A manager that runs but does not answer SSH yet (still booting,
		// as after an apply that was interrupted right after creating
		// it): apply waits for it and writes every file.
		l.FilesPending = fmt.Sprintf("server %s does not accept SSH yet (%v)", m.Name, err)
		return nil
	case err != nil:
		note(fmt.Sprintf("ssh %s: %v", m.Name, err), true)
		return nil
	}
	defer files.Close()
	marker, _, err := files.ReadFile(ctx, RestartMarker, maxRecordSize)
	switch {
	case errors.Is(err, sshremote.ErrConnectionLost) && ctx.Err() == nil:
		// Connected, but the server went away before serving a file
		// (shutting down, as after an apply killed while changing its
		// type): as with a manager that does not answer SSH yet, apply
		// waits for it and writes every file.
		l.FilesPending = fmt.Sprintf("server %s does not serve files over SSH (%v)", m.Name, err)
		return nil
	case err == nil:
		l.RestartPending = strings.TrimSpace(string(marker)) == "pending"
	case errors.As(err, new(*sshremote.NotRegularError)) || errors.As(err, new(*sshremote.TooLargeError)):
		l.RestartPending, l.RestartUnreadable = true, err.Error()
	case !errors.Is(err, fs.ErrNotExist):
		l.FileNotes = append(l.FileNotes, Note{Subject: string(AddrRestart), Message: err.Error(), Blocking: true})
	}
	for _, f := range d.Files {
		if f.NotManagedReason != "" {
			continue
		}
		lf, err := readFile(ctx, files, f)
		if err != nil {
			l.FileNotes = append(l.FileNotes, Note{Subject: string(f.Addr), Message: err.Error(), Blocking: true})
			continue
		}
		l.Files[f.Addr] = lf
	}
	return nil
}

// readFile reads one desired file from the manager over SFTP. Files
// compared by digest (the plugin binary) are hashed here and not kept; when
// the file has a digest record that matches its size and mtime, it is not
// read at all.
//
// The binary is read rather than hashed with sha256sum on the manager: a
// command's paths depend on the remote shell's root, SFTP's do not.
func readFile(ctx context.Context, files Files, f DesiredFile) (LiveFile, error) {
	if f.DigestRecord != "" {
		lf, ok, err := readRecordedDigest(ctx, files, f)
		if ok || err != nil {
			return lf, err
		}
	}
	if f.Format == FormatDirectory {
		return readDirectory(ctx, files, f)
	}
	limit := int64(MaxManagerFileSize)
	if f.Format == FormatBytes {
		// A file larger than the one to install differs from it.
		limit = f.ContentSize()
	}
	data, info, err := files.ReadFile(ctx, f.Path, limit)
	if err != nil {
		return unreadFile(f, info, err)
	}
	sum := sha256.Sum256(data)
	lf := LiveFile{Exists: true, Mode: info.Mode() &^ fs.ModeType, Owner: ownerOf(info), Digest: hex.EncodeToString(sum[:])}
	if f.Format != FormatBytes {
		lf.Content = data
	}
	return lf, nil
}

// recovered calls f, turning a panic in it into an error: the goroutines
// reconcile starts must not end the process (see package crash).
func recovered(f func() error) (err error) {
	defer crash.Recover(&err)
	return f()
}

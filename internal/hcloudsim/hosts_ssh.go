package hcloudsim

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/sshhost"
)

// maxKeptCalls bounds the calls remembered per server across host restarts.
const maxKeptCalls = 1000

// sshHosts runs an sshhost.Host per running server.
type sshHosts struct {
	opts Options
	// dropWrite is every host's sshhost.Config.DropWrite: the SFTP faults.
	dropWrite func(path string, size int64) bool

	mu      sync.Mutex
	running map[int64]*runningHost
	// past holds the calls of hosts already stopped, per server.
	past map[int64][]HostCall
}

type runningHost struct {
	host *sshhost.Host
	name string
}

func newHostRunner(opts Options, dropWrite func(path string, size int64) bool) hostRunner {
	return &sshHosts{opts: opts, dropWrite: dropWrite, running: map[int64]*runningHost{}, past: map[int64][]HostCall{}}
}

func (h *sshHosts) first() string {
	if h.opts.FirstLoopback != "" {
		return h.opts.FirstLoopback
	}
	return "127.0.0.2"
}

func (h *sshHosts) allocate(used map[string]bool) (string, error) {
	return nextFreeLoopback(h.first(), h.opts.SSHPort, used)
}

func (h *sshHosts) root(name string) string {
	return filepath.Join(h.opts.StateDir, "servers", name)
}

// start runs the server's host on addr, or, where that address's port is
// taken (another simulator), on the next free loopback address, which it
// returns.
func (h *sshHosts) start(id int64, name, addr, userData string, authorizedKeys []string, used map[string]bool) (string, error) {
	h.stop(id)
	hostKeys, authorized, err := sshhost.ParseUserData(userData)
	if err != nil {
		h.opts.Logf("server %s: user_data: %v", name, err)
	}
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{sshhost.StableHostKey(strconv.FormatInt(id, 10) + name)}
	}
	for _, k := range authorizedKeys {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err == nil {
			authorized = append(authorized, pub)
		}
	}
	cfg := sshhost.Config{Root: h.root(name), HostKeys: hostKeys, Authorized: authorized, Logf: h.opts.Logf, DropWrite: h.dropWrite}
	for attempt := 0; attempt < 64; attempt++ {
		cfg.Addr = net.JoinHostPort(addr, strconv.Itoa(h.opts.SSHPort))
		host, err := sshhost.Start(cfg)
		if err == nil {
			h.mu.Lock()
			h.running[id] = &runningHost{host: host, name: name}
			h.mu.Unlock()
			h.opts.Logf("server %s: SSH host on %s", name, host.Addr())
			return addr, nil
		}
		if !isAddrInUse(err) {
			return addr, err
		}
		used[addr] = true
		if addr, err = h.allocate(used); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free loopback address for port %d", h.opts.SSHPort)
}

func isAddrInUse(err error) bool {
	return errors.Is(err, os.ErrExist) || strings.Contains(err.Error(), "address already in use") ||
		strings.Contains(err.Error(), "cannot assign requested address")
}

func (h *sshHosts) stop(id int64) {
	h.mu.Lock()
	rh := h.running[id]
	delete(h.running, id)
	h.mu.Unlock()
	if rh == nil {
		return
	}
	calls := toHostCalls(rh.host.Calls())
	rh.host.Close()
	h.mu.Lock()
	kept := append(h.past[id], calls...)
	if len(kept) > maxKeptCalls {
		kept = kept[len(kept)-maxKeptCalls:]
	}
	h.past[id] = kept
	h.mu.Unlock()
}

func (h *sshHosts) rename(id int64, oldName, newName string) {
	// Names are unique: a directory of the new name is what a deleted
	// server left, and its disk is gone with it.
	h.wipe(newName)
	if err := os.Rename(h.root(oldName), h.root(newName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.opts.Logf("server %s: rename directory: %v", oldName, err)
	}
}

func (h *sshHosts) wipe(name string) {
	if err := os.RemoveAll(h.root(name)); err != nil {
		h.opts.Logf("server %s: wipe directory: %v", name, err)
	}
}

func (h *sshHosts) forget(id int64) {
	h.stop(id)
	h.mu.Lock()
	delete(h.past, id)
	h.mu.Unlock()
}

func (h *sshHosts) calls(id int64) []HostCall {
	h.mu.Lock()
	out := append([]HostCall{}, h.past[id]...)
	rh := h.running[id]
	h.mu.Unlock()
	if rh != nil {
		out = append(out, toHostCalls(rh.host.Calls())...)
	}
	return out
}

func (h *sshHosts) closeAll() {
	h.mu.Lock()
	ids := make([]int64, 0, len(h.running))
	for id := range h.running {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.stop(id)
	}
}

func toHostCalls(calls []sshhost.Call) []HostCall {
	out := make([]HostCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, HostCall{Time: c.Time, Kind: c.Kind, Command: c.Command, Args: c.Args, ExitStatus: c.ExitStatus})
	}
	return out
}

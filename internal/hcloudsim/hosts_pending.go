//go:build !sshhost

package hcloudsim

// pendingHosts hands out loopback addresses but runs no SSH server: the
// SSH host package is wired in by hosts_ssh.go.
type pendingHosts struct{ opts Options }

func newHostRunner(opts Options) hostRunner { return &pendingHosts{opts} }

func (h *pendingHosts) allocate(used map[string]bool) (string, error) {
	first := h.opts.FirstLoopback
	if first == "" {
		first = "127.0.0.2"
	}
	return nextFreeLoopback(first, h.opts.SSHPort, used)
}

func (h *pendingHosts) start(id int64, name, addr, userData string, keys []string, used map[string]bool) (string, error) {
	return addr, errNoSSH
}
func (h *pendingHosts) forget(int64)                 {}
func (h *pendingHosts) stop(int64)                   {}
func (h *pendingHosts) rename(int64, string, string) {}
func (h *pendingHosts) wipe(string)                  {}
func (h *pendingHosts) calls(int64) []HostCall       { return []HostCall{} }
func (h *pendingHosts) closeAll()                    {}

package hcloudsim

import "time"

// HostCall is one recorded call on a server's SSH host: an exec'd command or
// a call of a stand-in (systemctl, cloud-init, gitlab-runner).
type HostCall struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Command    string    `json:"command"`
	Args       []string  `json:"args,omitempty"`
	ExitStatus int       `json:"exit_status"`
}

// hostRunner runs the servers' SSH hosts. Called under Sim.mu.
type hostRunner interface {
	// allocate returns a free loopback address not in used.
	allocate(used map[string]bool) (string, error)
	// start runs the server's host on addr or, where that is taken, on
	// another free address (not in used), which it returns.
	start(id int64, name, addr, userData string, authorizedKeys []string, used map[string]bool) (string, error)
	stop(id int64)
	// forget stops the host and drops its recorded calls.
	forget(id int64)
	rename(id int64, oldName, newName string)
	wipe(name string)
	calls(id int64) []HostCall
	closeAll()
}

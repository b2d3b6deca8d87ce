package hcloudsim

import "slices"

// SetServerStatus puts a server, by name, into a Hetzner server status
// (initializing, off, deleting, …) that tests cannot otherwise hold still,
// until an action changes it. It reports whether the server and status exist.
func (s *Sim) SetServerStatus(name, status string) bool {
	if !slices.Contains(serverStatuses, status) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.st.servers {
		if srv.name == name {
			srv.status = status
			return true
		}
	}
	return false
}

package hcloudsim

// appliedBySelector reports whether one of fw's label selectors matches the
// server with the given ID (0: none). Such a server cannot have the firewall
// removed from it directly: the API answers firewall_managed_by_label_selector.
func (s *Sim) appliedBySelector(fw *firewall, serverID int64) bool {
	srv := s.st.servers[serverID]
	if srv == nil {
		return false
	}
	for _, t := range fw.applyTo {
		if t.selector != "" && t.parsed.Matches(srv.labels) {
			return true
		}
	}
	return false
}

package hcloudsim

import (
	"maps"
	"time"
)

// state is everything the API holds. Guarded by Sim.mu.
type state struct {
	seq int64
	ids map[string]int64

	actions     map[int64]*action
	actionOrder []int64
	pending     []*action

	sshKeys         map[int64]*sshKey
	servers         map[int64]*server
	firewalls       map[int64]*firewall
	primaryIPs      map[int64]*primaryIP
	volumes         map[int64]*volume
	networks        map[int64]*network
	placementGroups map[int64]*placementGroup

	// ipCounter numbers the public addresses handed out.
	ipCounter int
}

// firstIDs make IDs look like Hetzner's: large and per resource type.
var firstIDs = map[string]int64{
	"action":          1840000000,
	"server":          59000000,
	"ssh_key":         21000000,
	"firewall":        1700000,
	"primary_ip":      78000000,
	"volume":          101000000,
	"network":         10400000,
	"placement_group": 380000,
}

func newState() *state {
	return &state{
		ids:             maps.Clone(firstIDs),
		actions:         map[int64]*action{},
		sshKeys:         map[int64]*sshKey{},
		servers:         map[int64]*server{},
		firewalls:       map[int64]*firewall{},
		primaryIPs:      map[int64]*primaryIP{},
		volumes:         map[int64]*volume{},
		networks:        map[int64]*network{},
		placementGroups: map[int64]*placementGroup{},
	}
}

func (st *state) nextID(kind string) int64 {
	st.ids[kind]++
	return st.ids[kind]
}

// exists reports whether a resource of the given action resource type exists.
func (s *Sim) exists(typ string, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case "server":
		return s.st.servers[id] != nil
	case "firewall":
		return s.st.firewalls[id] != nil
	case "primary_ip":
		return s.st.primaryIPs[id] != nil
	case "volume":
		return s.st.volumes[id] != nil
	case "network":
		return s.st.networks[id] != nil
	}
	return false
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func cloneLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

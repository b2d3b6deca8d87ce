package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type network struct {
	resource
	ipRange      netip.Prefix
	subnets      []schema.NetworkSubnet
	routes       []schema.NetworkRoute
	protDelete   bool
	exposeRoutes bool
}

var networkZones = []string{"eu-central", "us-east", "us-west", "ap-southeast"}

func (n *network) subnetFor(zone string) *schema.NetworkSubnet {
	for i := range n.subnets {
		if n.subnets[i].NetworkZone == zone && n.subnets[i].Type != "vswitch" {
			return &n.subnets[i]
		}
	}
	return nil
}

func (s *Sim) networkJSON(n *network) schema.Network {
	out := schema.Network{ID: n.id, Name: n.name, Created: n.created, IPRange: n.ipRange.String(),
		Subnets: slices.Clone(n.subnets), Routes: slices.Clone(n.routes), Servers: []int64{}, LoadBalancers: []int64{},
		Protection: schema.NetworkProtection{Delete: n.protDelete}, Labels: cloneLabels(n.labels), ExposeRoutesToVSwitch: n.exposeRoutes}
	if out.Subnets == nil {
		out.Subnets = []schema.NetworkSubnet{}
	}
	if out.Routes == nil {
		out.Routes = []schema.NetworkRoute{}
	}
	for _, srv := range s.st.servers {
		for _, pn := range srv.privateNets {
			if pn.network == n.id {
				out.Servers = append(out.Servers, srv.id)
			}
		}
	}
	slices.Sort(out.Servers)
	return out
}

// zoneSubnet returns the subnet of n in srv's network zone, its range and
// the addresses taken in it: the gateway and the subnet's first address
// (reserved), every server's address and every alias IP but those of
// ownAliases (nil: none).
func (s *Sim) zoneSubnet(srv *server, n *network, ownAliases *server) (*schema.NetworkSubnet, netip.Prefix, map[string]bool, *apiError) {
	sub := n.subnetFor(srv.location.NetworkZone)
	if sub == nil {
		return nil, netip.Prefix{}, nil, &apiError{status: 422, code: "no_subnet_available", message: "network has no subnet in network zone " + srv.location.NetworkZone}
	}
	prefix := netip.MustParsePrefix(sub.IPRange)
	used := map[string]bool{sub.Gateway: true, prefix.Addr().Next().String(): true}
	for _, o := range s.st.servers {
		for _, pn := range o.privateNets {
			if pn.network != n.id {
				continue
			}
			used[pn.ip] = true
			if o != ownAliases {
				for _, a := range pn.aliasIPs {
					used[a] = true
				}
			}
		}
	}
	return sub, prefix, used, nil
}

// attachNetwork gives srv an address in the network's subnet of its zone:
// the requested one, or the lowest free one after the gateway.
func (s *Sim) attachNetwork(srv *server, n *network, ip string, aliases []string) *apiError {
	sub, prefix, used, e := s.zoneSubnet(srv, n, nil)
	if e != nil {
		return e
	}
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !prefix.Contains(addr) {
			return errField("ip", fmt.Sprintf("%q is not an address of subnet %s", ip, sub.IPRange))
		}
		if used[ip] {
			return &apiError{status: 409, code: "conflict", message: "ip " + ip + " is already used"}
		}
	} else {
		for a := prefix.Addr().Next(); prefix.Contains(a); a = a.Next() {
			if !used[a.String()] && a != prefix.Addr() {
				ip = a.String()
				break
			}
		}
		if ip == "" {
			return &apiError{status: 422, code: "ip_not_available", message: "no free address in subnet " + sub.IPRange}
		}
	}
	srv.privateNets = append(srv.privateNets, privateNet{network: n.id, ip: ip, aliasIPs: aliases,
		mac: fmt.Sprintf("86:00:00:%02x:%02x:%02x", byte(srv.id>>16), byte(srv.id>>8), byte(srv.id))})
	return nil
}

var networkKind = kind[*network]{key: "network", items: func(st *state) map[int64]*network { return st.networks },
	json: func(s *Sim, n *network) any { return s.networkJSON(n) }, sortFields: []string{"id", "name", "created"}, nameTaken: "network name is already used"}

// checkSubnet validates a subnet against the network range and fills its
// gateway.
func checkSubnet(ipRange netip.Prefix, sub *schema.NetworkSubnet, existing []schema.NetworkSubnet) *apiError {
	if sub.Type != "cloud" && sub.Type != "server" && sub.Type != "vswitch" {
		return errField("subnets.type", "must be cloud, server or vswitch")
	}
	if !slices.Contains(networkZones, sub.NetworkZone) {
		return errField("subnets.network_zone", "must be one of eu-central, us-east, us-west, ap-southeast")
	}
	p, err := netip.ParsePrefix(sub.IPRange)
	if err != nil || !p.Addr().Is4() || p.Masked() != p || !ipRange.Contains(p.Addr()) || p.Bits() < ipRange.Bits() {
		return errField("subnets.ip_range", fmt.Sprintf("%q must be a network inside %s", sub.IPRange, ipRange))
	}
	for _, o := range existing {
		if op := netip.MustParsePrefix(o.IPRange); op.Overlaps(p) {
			return &apiError{status: 422, code: "invalid_input", message: "subnet overlaps " + o.IPRange,
				details: map[string]any{"fields": []fieldError{{Name: "ip_range", Messages: []string{"overlaps an existing subnet"}}}}}
		}
	}
	sub.Gateway = ipRange.Addr().Next().String()
	return nil
}

func (s *Sim) createNetwork(w http.ResponseWriter, r *http.Request) {
	var req schema.NetworkCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if e := checkName(req.Name); e != nil {
		writeError(w, e)
		return
	}
	ipRange, err := netip.ParsePrefix(req.IPRange)
	if err != nil || !ipRange.Addr().Is4() || ipRange.Masked() != ipRange || !ipRange.Addr().IsPrivate() || ipRange.Bits() > 30 {
		writeError(w, errField("ip_range", "must be a private IPv4 network of RFC 1918, /30 or larger"))
		return
	}
	var subnets []schema.NetworkSubnet
	for _, sub := range req.Subnets {
		if e := checkSubnet(ipRange, &sub, subnets); e != nil {
			writeError(w, e)
			return
		}
		subnets = append(subnets, sub)
	}
	for _, rt := range req.Routes {
		if _, err := netip.ParsePrefix(rt.Destination); err != nil {
			writeError(w, errField("routes.destination", "must be a network"))
			return
		}
		if gw, err := netip.ParseAddr(rt.Gateway); err != nil || !ipRange.Contains(gw) {
			writeError(w, errField("routes.gateway", "must be an address inside the network"))
			return
		}
	}
	if e := checkLabels(req.Labels); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := networkKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	n := &network{resource: resource{id: s.st.nextID("network"), name: req.Name, labels: givenLabels(req.Labels), created: now()},
		ipRange: ipRange, subnets: subnets, routes: slices.Clone(req.Routes), exposeRoutes: req.ExposeRoutesToVSwitch}
	s.st.networks[n.id] = n
	writeJSON(w, 201, schema.NetworkCreateResponse{Network: s.networkJSON(n)})
}

func (s *Sim) routesNetworks() {
	s.handle("GET /v1/networks", networkKind.list(s, nil))
	s.handle("POST /v1/networks", s.createNetwork)
	s.handle("GET /v1/networks/{id}", networkKind.get(s))
	s.handle("PUT /v1/networks/{id}", update(s, networkKind,
		func(req *schema.NetworkUpdateRequest) *apiError { return checkLabels(req.Labels) },
		func(n *network, req *schema.NetworkUpdateRequest) *apiError {
			if e := networkKind.rename(s, n, req.Name, req.Labels); e != nil {
				return e
			}
			if req.ExposeRoutesToVSwitch != nil {
				n.exposeRoutes = *req.ExposeRoutesToVSwitch
			}
			return nil
		}))
	s.handle("DELETE /v1/networks/{id}", networkKind.remove(s, func(n *network) *apiError {
		if n.protDelete {
			return errProtected("network")
		}
		// Attached servers are detached automatically (API reference).
		for _, srv := range s.st.servers {
			srv.privateNets = slices.DeleteFunc(srv.privateNets, func(pn privateNet) bool { return pn.network == n.id })
		}
		return nil
	}))
	s.handle("POST /v1/networks/{id}/actions/add_subnet", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionAddSubnetRequest) (*action, *apiError) {
		sub := schema.NetworkSubnet{Type: req.Type, IPRange: req.IPRange, NetworkZone: req.NetworkZone, VSwitchID: req.VSwitchID}
		if sub.IPRange == "" {
			// The API picks the next free /24 where none is given.
			for p := netip.PrefixFrom(n.ipRange.Addr(), 24); n.ipRange.Contains(p.Addr()); {
				if !slices.ContainsFunc(n.subnets, func(o schema.NetworkSubnet) bool { return netip.MustParsePrefix(o.IPRange).Overlaps(p) }) {
					sub.IPRange = p.String()
					break
				}
				next := p.Addr().As4()
				next[2]++
				if next[2] == 0 {
					break
				}
				p = netip.PrefixFrom(netip.AddrFrom4(next), 24)
			}
		}
		if e := checkSubnet(n.ipRange, &sub, n.subnets); e != nil {
			return nil, e
		}
		n.subnets = append(n.subnets, sub)
		return s.startAction(r, "add_subnet", nil, ref("network", n.id)), nil
	}))
	s.handle("POST /v1/networks/{id}/actions/delete_subnet", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionDeleteSubnetRequest) (*action, *apiError) {
		before := len(n.subnets)
		n.subnets = slices.DeleteFunc(n.subnets, func(o schema.NetworkSubnet) bool { return o.IPRange == req.IPRange })
		if len(n.subnets) == before {
			return nil, errField("ip_range", "no such subnet")
		}
		return s.startAction(r, "delete_subnet", nil, ref("network", n.id)), nil
	}))
	s.handle("POST /v1/networks/{id}/actions/add_route", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionAddRouteRequest) (*action, *apiError) {
		if _, err := netip.ParsePrefix(req.Destination); err != nil {
			return nil, errField("destination", "must be a network")
		}
		if gw, err := netip.ParseAddr(req.Gateway); err != nil || !n.ipRange.Contains(gw) {
			return nil, errField("gateway", "must be an address inside the network")
		}
		n.routes = append(n.routes, schema.NetworkRoute{Destination: req.Destination, Gateway: req.Gateway})
		return s.startAction(r, "add_route", nil, ref("network", n.id)), nil
	}))
	s.handle("POST /v1/networks/{id}/actions/delete_route", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionDeleteRouteRequest) (*action, *apiError) {
		before := len(n.routes)
		n.routes = slices.DeleteFunc(n.routes, func(o schema.NetworkRoute) bool { return o.Destination == req.Destination && o.Gateway == req.Gateway })
		if len(n.routes) == before {
			return nil, errField("destination", "no such route")
		}
		return s.startAction(r, "delete_route", nil, ref("network", n.id)), nil
	}))
	s.handle("POST /v1/networks/{id}/actions/change_ip_range", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionChangeIPRangeRequest) (*action, *apiError) {
		p, err := netip.ParsePrefix(req.IPRange)
		if err != nil || p.Masked() != p || !p.Contains(n.ipRange.Addr()) || p.Bits() > n.ipRange.Bits() {
			return nil, errField("ip_range", "must be a network containing the current range")
		}
		n.ipRange = p
		return s.startAction(r, "change_ip_range", nil, ref("network", n.id)), nil
	}))
	s.handle("POST /v1/networks/{id}/actions/change_protection", act(s, networkKind, func(r *http.Request, n *network, req *schema.NetworkActionChangeProtectionRequest) (*action, *apiError) {
		if req.Delete == nil {
			return nil, errField("delete", "is required")
		}
		n.protDelete = *req.Delete
		return s.startAction(r, "change_protection", nil, ref("network", n.id)), nil
	}))
}

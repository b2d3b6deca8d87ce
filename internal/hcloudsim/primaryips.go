package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type primaryIP struct {
	resource
	typ        string // ipv4 or ipv6
	ip         string
	location   *schema.Location
	assignee   int64
	autoDelete bool
	protDelete bool
	dns        map[string]string
}

func (ip *primaryIP) assign(serverID int64) { ip.assignee = serverID }

func (ip *primaryIP) dnsPtr(addr string) string {
	if p, ok := ip.dns[addr]; ok {
		return p
	}
	if a, err := netip.ParseAddr(addr); err == nil && a.Is4() {
		b := a.As4()
		return fmt.Sprintf("static.%d.%d.%d.%d.clients.your-server.de", b[3], b[2], b[1], b[0])
	}
	return ""
}

// setDNSPtr sets the reverse DNS entry of addr, or with nil resets it.
func (ip *primaryIP) setDNSPtr(addr string, ptr *string) {
	if ptr == nil {
		delete(ip.dns, addr)
		return
	}
	if ip.dns == nil {
		ip.dns = map[string]string{}
	}
	ip.dns[addr] = *ptr
}

func (ip *primaryIP) schema() schema.PrimaryIP {
	out := schema.PrimaryIP{ID: ip.id, Name: ip.name, Type: ip.typ, IP: ip.ip, Labels: cloneLabels(ip.labels),
		Created: ip.created, Location: *ip.location, AssigneeType: "server", AutoDelete: ip.autoDelete,
		Protection: schema.PrimaryIPProtection{Delete: ip.protDelete}, DNSPtr: []schema.PrimaryIPDNSPTR{}}
	if ip.assignee != 0 {
		id := ip.assignee
		out.AssigneeID = &id
	}
	if ip.typ == "ipv4" {
		out.DNSPtr = append(out.DNSPtr, schema.PrimaryIPDNSPTR{IP: ip.ip, DNSPtr: ip.dnsPtr(ip.ip)})
	}
	for _, a := range sortedKeys(ip.dns) {
		if a != ip.ip {
			out.DNSPtr = append(out.DNSPtr, schema.PrimaryIPDNSPTR{IP: a, DNSPtr: ip.dns[a]})
		}
	}
	return out
}

// newPrimaryIP allocates an address: in SSH mode a free loopback IPv4, else
// an IPv4 of the documentation ranges; IPv6 networks come from 2001:db8::/32.
func (s *Sim) newPrimaryIP(typ string, loc *schema.Location, autoDelete bool) (*primaryIP, error) {
	ip := &primaryIP{resource: resource{id: s.st.nextID("primary_ip"), labels: map[string]string{}, created: now()},
		typ: typ, location: loc, autoDelete: autoDelete}
	ip.name = fmt.Sprintf("primary_ip-%d", ip.id)
	s.st.ipCounter++
	n := s.st.ipCounter
	switch {
	case typ == "ipv6":
		ip.ip = fmt.Sprintf("2001:db8:%x:%x::/64", n>>16&0xffff, n&0xffff)
	case s.hosts != nil:
		used := map[string]bool{}
		for _, o := range s.st.primaryIPs {
			used[o.ip] = true
		}
		addr, err := s.hosts.allocate(used)
		if err != nil {
			return nil, err
		}
		ip.ip = addr
	default:
		ip.ip = documentationIPv4(n)
	}
	s.st.primaryIPs[ip.id] = ip
	return ip, nil
}

// documentationIPv4 numbers addresses through 203.0.113.0/24, 198.51.100.0/24
// and 192.0.2.0/24, then the benchmarking range 198.18.0.0/15.
func documentationIPv4(n int) string {
	ranges := []string{"203.0.113", "198.51.100", "192.0.2"}
	i := (n - 1) / 254
	if i < len(ranges) {
		return fmt.Sprintf("%s.%d", ranges[i], (n-1)%254+1)
	}
	m := n - 1 - len(ranges)*254
	return fmt.Sprintf("198.%d.%d.%d", 18+m/65024%2, m/254%256, m%254+1)
}

var primaryIPKind = kind[*primaryIP]{key: "primary_ip", items: func(st *state) map[int64]*primaryIP { return st.primaryIPs },
	json: func(_ *Sim, ip *primaryIP) any { return ip.schema() }, sortFields: []string{"id", "name", "created"}, nameTaken: "primary IP name is already used"}

// primaryIPAddress filters primary IPs by ip=.
func primaryIPAddress(q url.Values) (func(*primaryIP) bool, *apiError) {
	return func(ip *primaryIP) bool { return !q.Has("ip") || q.Get("ip") == ip.ip }, nil
}

type primaryIPCreateRequest struct {
	Name         string             `json:"name"`
	Type         string             `json:"type"`
	AssigneeType string             `json:"assignee_type"`
	AssigneeID   *int64             `json:"assignee_id"`
	Labels       *map[string]string `json:"labels"`
	AutoDelete   *bool              `json:"auto_delete"`
	Location     *schema.IDOrName   `json:"location"`
	Datacenter   *schema.IDOrName   `json:"datacenter"`
}

func (s *Sim) createPrimaryIP(w http.ResponseWriter, r *http.Request) {
	var req primaryIPCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	if checkName(req.Name) != nil {
		fields = append(fields, fieldError{"name", []string{"is required"}})
	}
	if req.Type != "ipv4" && req.Type != "ipv6" {
		fields = append(fields, fieldError{"type", []string{"must be ipv4 or ipv6"}})
	}
	if req.AssigneeType != "" && req.AssigneeType != "server" {
		fields = append(fields, fieldError{"assignee_type", []string{"must be server"}})
	}
	var loc *schema.Location
	switch {
	case req.Location != nil:
		loc = lookupLocation(*req.Location)
	case req.Datacenter != nil:
		for i := range locations {
			if dc := datacenterNames[locations[i].Name]; dc.name == req.Datacenter.Name || dc.id == req.Datacenter.ID {
				loc = &locations[i]
			}
		}
	}
	if loc == nil && req.AssigneeID == nil {
		fields = append(fields, fieldError{"location", []string{"location (or assignee_id) is required"}})
	}
	if !admitCreate(w, fields, req.Labels) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := primaryIPKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	var srv *server
	if req.AssigneeID != nil {
		srv = s.st.servers[*req.AssigneeID]
		if srv == nil {
			writeError(w, errField("assignee_id", "server not found"))
			return
		}
		if srv.status != "off" {
			writeError(w, &apiError{status: 422, code: "server_not_stopped", message: "server must be stopped to assign a primary IP"})
			return
		}
		if (req.Type == "ipv4" && srv.ipv4 != 0) || (req.Type == "ipv6" && srv.ipv6 != 0) {
			writeError(w, &apiError{status: 422, code: "server_has_ipv4", message: "server already has a primary IP of this type"})
			return
		}
		loc = srv.location
	}
	auto := req.AutoDelete != nil && *req.AutoDelete
	ip, err := s.newPrimaryIP(req.Type, loc, auto)
	if err != nil {
		writeError(w, &apiError{status: 412, code: "resource_unavailable", message: err.Error()})
		return
	}
	ip.name, ip.labels = req.Name, givenLabels(req.Labels)
	resp := schema.PrimaryIPCreateResponse{}
	if srv != nil {
		s.assignPrimaryIP(ip, srv)
		a := s.actionJSON(s.startAction(r, "assign_primary_ip", nil, ref("primary_ip", ip.id), ref("server", srv.id)), time.Now())
		resp.Action = &a
	} else {
		a := s.actionJSON(s.startAction(r, "create_primary_ip", nil, ref("primary_ip", ip.id)), time.Now())
		resp.Action = &a
	}
	resp.PrimaryIP = ip.schema()
	writeJSON(w, 201, resp)
}

func (s *Sim) assignPrimaryIP(ip *primaryIP, srv *server) {
	ip.assignee = srv.id
	if ip.typ == "ipv4" {
		srv.ipv4 = ip.id
		srv.loopback = ip.ip
	} else {
		srv.ipv6 = ip.id
	}
}

func (s *Sim) unassignPrimaryIP(ip *primaryIP, srv *server) {
	ip.assignee = 0
	if srv.ipv4 == ip.id {
		srv.ipv4 = 0
		if s.hosts != nil {
			s.hosts.stop(srv.id)
		}
		srv.loopback = ""
	}
	if srv.ipv6 == ip.id {
		srv.ipv6 = 0
	}
}

func (s *Sim) routesPrimaryIPs() {
	s.handle("GET /v1/primary_ips", primaryIPKind.list(s, primaryIPAddress))
	s.handle("POST /v1/primary_ips", s.createPrimaryIP)
	s.handle("GET /v1/primary_ips/{id}", primaryIPKind.get(s))
	s.handle("PUT /v1/primary_ips/{id}", update(s, primaryIPKind,
		func(req *schema.PrimaryIPUpdateRequest) *apiError { return checkLabels(req.Labels) },
		func(ip *primaryIP, req *schema.PrimaryIPUpdateRequest) *apiError {
			if e := primaryIPKind.rename(s, ip, req.Name, req.Labels); e != nil {
				return e
			}
			if req.AutoDelete != nil {
				ip.autoDelete = *req.AutoDelete
			}
			return nil
		}))
	s.handle("DELETE /v1/primary_ips/{id}", primaryIPKind.remove(s, func(ip *primaryIP) *apiError {
		if ip.protDelete {
			return errProtected("primary IP")
		}
		if ip.assignee != 0 {
			if srv := s.st.servers[ip.assignee]; srv != nil && srv.status != "off" {
				return &apiError{status: 422, code: "server_not_stopped", message: "the assigned server must be stopped to delete its primary IP"}
			} else if srv != nil {
				s.unassignPrimaryIP(ip, srv)
			}
		}
		return nil
	}))
	s.handle("POST /v1/primary_ips/{id}/actions/assign", act(s, primaryIPKind, func(r *http.Request, ip *primaryIP, req *schema.PrimaryIPActionAssignRequest) (*action, *apiError) {
		srv := s.st.servers[req.AssigneeID]
		switch {
		case req.AssigneeType != "server":
			return nil, errField("assignee_type", "must be server")
		case srv == nil:
			return nil, errField("assignee_id", "server not found")
		case ip.assignee != 0:
			return nil, &apiError{status: 422, code: "primary_ip_assigned", message: "primary IP is already assigned"}
		case srv.status != "off":
			return nil, &apiError{status: 422, code: "server_not_stopped", message: "server must be stopped"}
		case srv.location.Name != ip.location.Name:
			return nil, &apiError{status: 422, code: "primary_ip_datacenter_mismatch", message: "primary IP and server are in different locations"}
		case (ip.typ == "ipv4" && srv.ipv4 != 0) || (ip.typ == "ipv6" && srv.ipv6 != 0):
			return nil, &apiError{status: 422, code: "server_has_ipv4", message: "server already has a primary IP of this type"}
		}
		s.assignPrimaryIP(ip, srv)
		return s.startAction(r, "assign_primary_ip", nil, ref("primary_ip", ip.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/primary_ips/{id}/actions/unassign", act(s, primaryIPKind, func(r *http.Request, ip *primaryIP, _ *struct{}) (*action, *apiError) {
		srv := s.st.servers[ip.assignee]
		if srv == nil {
			return nil, &apiError{status: 422, code: "primary_ip_not_assigned", message: "primary IP is not assigned"}
		}
		if srv.status != "off" {
			return nil, &apiError{status: 422, code: "server_not_stopped", message: "server must be stopped"}
		}
		s.unassignPrimaryIP(ip, srv)
		return s.startAction(r, "unassign_primary_ip", nil, ref("primary_ip", ip.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/primary_ips/{id}/actions/change_protection", act(s, primaryIPKind, func(r *http.Request, ip *primaryIP, req *schema.PrimaryIPActionChangeProtectionRequest) (*action, *apiError) {
		ip.protDelete = req.Delete
		return s.startAction(r, "change_protection", nil, ref("primary_ip", ip.id)), nil
	}))
	s.handle("POST /v1/primary_ips/{id}/actions/change_dns_ptr", act(s, primaryIPKind, func(r *http.Request, ip *primaryIP, req *schema.PrimaryIPActionChangeDNSPtrRequest) (*action, *apiError) {
		if req.IP == "" {
			return nil, errField("ip", "is required")
		}
		ip.setDNSPtr(req.IP, req.DNSPtr)
		return s.startAction(r, "change_dns_ptr", nil, ref("primary_ip", ip.id)), nil
	}))
}

package hcloudsim

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// ipv6DNSPtrs lists the reverse DNS entries set on addresses of an IPv6
// primary IP's network, as public_net.ipv6.dns_ptr of a server shows them.
func ipv6DNSPtrs(ip *primaryIP) []schema.ServerPublicNetIPv6DNSPtr {
	out := []schema.ServerPublicNetIPv6DNSPtr{}
	for _, a := range sortedKeys(ip.dns) {
		out = append(out, schema.ServerPublicNetIPv6DNSPtr{IP: a, DNSPtr: ip.dns[a]})
	}
	return out
}

// serverPrimaryIPFor finds the server's primary IP that addr belongs to:
// its IPv4 address, or an address in its IPv6 network.
func (s *Sim) serverPrimaryIPFor(srv *server, addr string) *primaryIP {
	if ip := s.st.primaryIPs[srv.ipv4]; ip != nil && ip.ip == addr {
		return ip
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() {
		return nil
	}
	if ip := s.st.primaryIPs[srv.ipv6]; ip != nil {
		if p, err := netip.ParsePrefix(ip.ip); err == nil && p.Contains(a) {
			return ip
		}
	}
	return nil
}

// routesServerDNSPtr serves POST /servers/{id}/actions/change_dns_ptr, what
// `hcloud server set-rdns` calls: it sets (or, with a null dns_ptr, resets)
// the reverse DNS of one of the server's public addresses.
func (s *Sim) routesServerDNSPtr() {
	s.handle("POST /v1/servers/{id}/actions/change_dns_ptr", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionChangeDNSPtrRequest) (any, *apiError) {
		if req.IP == "" {
			return nil, errField("ip", "is required")
		}
		if req.DNSPtr != nil && strings.TrimSpace(*req.DNSPtr) == "" {
			return nil, errField("dns_ptr", "must be a hostname or null")
		}
		ip := s.serverPrimaryIPFor(srv, req.IP)
		if ip == nil {
			return nil, errField("ip", "is not an address of this server's public IPv4 or IPv6 network")
		}
		ip.setDNSPtr(req.IP, req.DNSPtr)
		a := s.startAction(r, "change_dns_ptr", nil, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
}

package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// defaultBackupWindow is the window Hetzner assigns when backups are enabled.
const defaultBackupWindow = "22-02"

// routesServerCLIActions serves the server actions the hcloud CLI has
// commands for beyond the core lifecycle: add-to-placement-group,
// remove-from-placement-group, change-alias-ips, enable-backup and
// disable-backup.
func (s *Sim) routesServerCLIActions() {
	s.handle("POST /v1/servers/{id}/actions/add_to_placement_group", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionAddToPlacementGroupRequest) (any, *apiError) {
		pg := s.st.placementGroups[req.PlacementGroup]
		switch {
		case pg == nil:
			return nil, errField("placement_group", fmt.Sprintf("placement group %d not found", req.PlacementGroup))
		case srv.status != "off":
			return nil, &apiError{status: 422, code: "server_not_stopped", message: "server must be stopped before adding it to a placement group"}
		case srv.placement != 0:
			return nil, &apiError{status: 422, code: "already_in_placement_group", message: "server is already part of a placement group"}
		}
		srv.placement = pg.id
		a := s.startAction(r, "add_to_placement_group", nil, ref("server", srv.id), ref("placement_group", pg.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
	s.handle("POST /v1/servers/{id}/actions/remove_from_placement_group", serverAction(s, func(r *http.Request, srv *server, _ *struct{}) (any, *apiError) {
		if srv.placement == 0 {
			return nil, &apiError{status: 422, code: "invalid_input", message: "server is not part of a placement group"}
		}
		pg := srv.placement
		srv.placement = 0
		a := s.startAction(r, "remove_from_placement_group", nil, ref("server", srv.id), ref("placement_group", pg))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
	s.handle("POST /v1/servers/{id}/actions/change_alias_ips", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionChangeAliasIPsRequest) (any, *apiError) {
		i := slices.IndexFunc(srv.privateNets, func(pn privateNet) bool { return pn.network == req.Network })
		if i < 0 {
			return nil, &apiError{status: 422, code: "server_not_attached_to_network", message: "server is not attached to the network"}
		}
		if e := s.checkAliasIPs(srv, req.Network, req.AliasIPs); e != nil {
			return nil, e
		}
		srv.privateNets[i].aliasIPs = slices.Clone(req.AliasIPs)
		a := s.startAction(r, "change_alias_ips", nil, ref("server", srv.id), ref("network", req.Network))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
	s.handle("POST /v1/servers/{id}/actions/enable_backup", serverAction(s, func(r *http.Request, srv *server, _ *struct{}) (any, *apiError) {
		srv.backupWindow = defaultBackupWindow
		a := s.startAction(r, "enable_backup", nil, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
	s.handle("POST /v1/servers/{id}/actions/disable_backup", serverAction(s, func(r *http.Request, srv *server, _ *struct{}) (any, *apiError) {
		srv.backupWindow = ""
		a := s.startAction(r, "disable_backup", nil, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
}

// checkAliasIPs checks that each alias is an address of the network's
// subnet in the server's zone, other than the gateway, and used by no other
// server or by the server's own primary address there.
func (s *Sim) checkAliasIPs(srv *server, networkID int64, aliases []string) *apiError {
	n := s.st.networks[networkID]
	if n == nil {
		return errField("network", "network not found")
	}
	sub, prefix, used, e := s.zoneSubnet(srv, n, srv)
	if e != nil {
		return e
	}
	seen := map[string]bool{}
	for _, alias := range aliases {
		a, err := netip.ParseAddr(alias)
		if err != nil || !prefix.Contains(a) || a == prefix.Addr() {
			return errField("alias_ips", fmt.Sprintf("%q is not an address of subnet %s", alias, sub.IPRange))
		}
		if used[a.String()] || seen[a.String()] {
			return &apiError{status: 422, code: "ip_not_available", message: "ip " + alias + " is not available"}
		}
		seen[a.String()] = true
	}
	return nil
}

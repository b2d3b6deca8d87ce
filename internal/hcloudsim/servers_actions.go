package hcloudsim

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// The server actions: POST /servers/{id}/actions/... .

// serverAction is the common frame of POST /servers/{id}/actions/...: it
// decodes the body into a T, finds the server, refuses while another action
// on it runs, and lets do start the action.
func serverAction[T any](s *Sim, do func(r *http.Request, srv *server, req *T) (any, *apiError)) http.HandlerFunc {
	return onResource(s, serverKind, 201, nil, func(r *http.Request, srv *server, req *T) (any, *apiError) {
		if s.busy("server", srv.id) {
			return nil, &apiError{status: 423, code: "locked", message: "server is locked: another action is running"}
		}
		return do(r, srv, req)
	})
}

// busy reports whether a not yet finished action runs on the resource.
func (s *Sim) busy(typ string, id int64) bool {
	for _, a := range s.st.pending {
		for _, res := range a.resources {
			if res.Type == typ && res.ID == id {
				return true
			}
		}
	}
	return false
}

type actionResponse struct {
	Action schema.Action `json:"action"`
}

func (s *Sim) simpleServerAction(command string, effect func(srv *server, ok bool)) http.HandlerFunc {
	return serverAction(s, func(r *http.Request, srv *server, _ *struct{}) (any, *apiError) {
		a := s.startAction(r, command, func(ok bool) { effect(srv, ok) }, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	})
}

func (s *Sim) routesServerActions() {
	alive := func(srv *server) bool { return s.st.servers[srv.id] == srv }
	s.handle("POST /v1/servers/{id}/actions/poweron", s.simpleServerAction("start_server", func(srv *server, ok bool) {
		if ok && alive(srv) {
			s.serverRunning(srv)
		}
	}))
	s.handle("POST /v1/servers/{id}/actions/poweroff", s.simpleServerAction("stop_server", func(srv *server, ok bool) {
		if ok && alive(srv) {
			s.serverStopped(srv)
		}
	}))
	s.handle("POST /v1/servers/{id}/actions/shutdown", s.simpleServerAction("shutdown_server", func(srv *server, ok bool) {
		if ok && alive(srv) {
			s.serverStopped(srv)
		}
	}))
	restart := func(srv *server, ok bool) {
		if ok && alive(srv) {
			if s.hosts != nil {
				s.hosts.stop(srv.id)
			}
			s.serverRunning(srv)
		}
	}
	s.handle("POST /v1/servers/{id}/actions/reboot", s.simpleServerAction("reboot_server", restart))
	s.handle("POST /v1/servers/{id}/actions/reset", s.simpleServerAction("reset_server", restart))

	s.handle("POST /v1/servers/{id}/actions/change_type", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionChangeTypeRequest) (any, *apiError) {
		st := serverTypeByIDOrName(req.ServerType)
		switch {
		case st == nil:
			return nil, errField("server_type", "server type not found")
		case srv.status != "off":
			return nil, &apiError{status: 422, code: "server_not_stopped", message: "server must be stopped before changing its type"}
		case st.arch != srv.serverType.arch:
			return nil, errField("server_type", fmt.Sprintf("server type %s has architecture %s, the server %s", st.name, st.arch, srv.serverType.arch))
		case !slices.Contains(st.locations, srv.location.Name):
			return nil, &apiError{status: 412, code: "resource_unavailable", message: fmt.Sprintf("server type %s is not available in location %s", st.name, srv.location.Name)}
		case st.disk < srv.diskSize:
			return nil, errField("server_type", fmt.Sprintf("the disk of server type %s (%d GB) is smaller than the server's disk (%d GB)", st.name, st.disk, srv.diskSize))
		}
		a := s.startAction(r, "change_server_type", func(ok bool) {
			if ok {
				srv.serverType = st
				if req.UpgradeDisk {
					srv.diskSize = st.disk
				}
			}
		}, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))

	s.handle("POST /v1/servers/{id}/actions/rebuild", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionRebuildRequest) (any, *apiError) {
		img := imageFor(req.Image, srv.serverType.arch)
		switch {
		case srv.protRebuild:
			return nil, errProtected("server")
		case img == nil:
			return nil, errField("image", "image not found")
		case img.arch != srv.serverType.arch:
			return nil, errField("image", "image architecture does not match the server type")
		}
		if req.UserData != nil {
			srv.userData = *req.UserData
		}
		before := srv.status
		srv.status = "rebuilding"
		if s.hosts != nil {
			s.hosts.stop(srv.id)
			s.hosts.wipe(srv.name)
		}
		a := s.startAction(r, "rebuild_server", func(ok bool) {
			if !alive(srv) {
				return
			}
			if !ok {
				srv.status = before
				if before == "running" {
					s.serverRunning(srv)
				}
				return
			}
			// A rebuilt server boots from the new image.
			srv.image = img
			s.serverRunning(srv)
		}, ref("server", srv.id))
		resp := schema.ServerActionRebuildResponse{Action: s.actionJSON(a, time.Now())}
		if len(srv.sshKeys) == 0 {
			pw := randomPassword()
			resp.RootPassword = &pw
		}
		return resp, nil
	}))

	s.handle("POST /v1/servers/{id}/actions/change_protection", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionChangeProtectionRequest) (any, *apiError) {
		if req.Delete == nil && req.Rebuild == nil {
			return nil, errInvalid(fieldError{Name: "delete", Messages: []string{"delete or rebuild is required"}})
		}
		if req.Delete != nil {
			srv.protDelete = *req.Delete
		}
		if req.Rebuild != nil {
			srv.protRebuild = *req.Rebuild
		}
		a := s.startAction(r, "change_protection", nil, ref("server", srv.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))

	s.handle("POST /v1/servers/{id}/actions/attach_to_network", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionAttachToNetworkRequest) (any, *apiError) {
		nw := s.st.networks[req.Network]
		if nw == nil {
			return nil, errField("network", "network not found")
		}
		for _, pn := range srv.privateNets {
			if pn.network == nw.id {
				return nil, &apiError{status: 422, code: "server_already_attached", message: "server is already attached to the network"}
			}
		}
		if nw.subnetFor(srv.location.NetworkZone) == nil {
			return nil, &apiError{status: 422, code: "no_subnet_available", message: "network has no subnet in the server's network zone " + srv.location.NetworkZone}
		}
		ip := ""
		if req.IP != nil {
			ip = *req.IP
		}
		var aliases []string
		for _, a := range req.AliasIPs {
			if a != nil {
				aliases = append(aliases, *a)
			}
		}
		if e := s.attachNetwork(srv, nw, ip, aliases); e != nil {
			return nil, e
		}
		a := s.startAction(r, "attach_to_network", nil, ref("server", srv.id), ref("network", nw.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))

	s.handle("POST /v1/servers/{id}/actions/detach_from_network", serverAction(s, func(r *http.Request, srv *server, req *schema.ServerActionDetachFromNetworkRequest) (any, *apiError) {
		nw := s.st.networks[req.Network]
		if nw == nil {
			return nil, errField("network", "network not found")
		}
		n := len(srv.privateNets)
		srv.privateNets = slices.DeleteFunc(srv.privateNets, func(pn privateNet) bool { return pn.network == nw.id })
		if len(srv.privateNets) == n {
			return nil, &apiError{status: 422, code: "server_not_attached_to_network", message: "server is not attached to the network"}
		}
		a := s.startAction(r, "detach_from_network", nil, ref("server", srv.id), ref("network", nw.id))
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	}))
}

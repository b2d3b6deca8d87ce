package hcloudsim

import (
	"net/http"
	"strings"
	"time"
)

// handle registers a /v1 route. Every request first finishes the actions due.
func (s *Sim) handle(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.advance(time.Now(), true)
		s.mu.Unlock()
		h(w, r)
	})
}

// emptyLists are the collections `hcloud all list` and others read that the
// simulator does not model: they answer empty lists.
var emptyLists = []string{"isos", "load_balancers", "load_balancer_types", "floating_ips", "certificates", "zones", "storage_boxes", "storage_box_types"}

func (s *Sim) routes() {
	s.handle("GET /v1/locations", s.listLocations)
	s.handle("GET /v1/locations/{id}", s.getLocation)
	s.handle("GET /v1/datacenters", s.listDatacenters)
	s.handle("GET /v1/datacenters/{id}", s.getDatacenter)
	s.handle("GET /v1/server_types", s.listServerTypes)
	s.handle("GET /v1/server_types/{id}", s.getServerType)
	s.handle("GET /v1/images", s.listImages)
	s.handle("GET /v1/images/{id}", s.getImage)
	s.handle("GET /v1/pricing", s.getPricing)

	s.handle("GET /v1/actions", func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("id") {
			// Listing every action of the project was removed on 2025-01-30.
			writeError(w, &apiError{status: 410, code: "deprecated_api_endpoint",
				message: "listing all actions was removed; pass id",
				details: map[string]any{"announcement": "https://docs.hetzner.cloud/changelog#2025-01-30-listing-arbitrary-actions-in-the-actions-list-endpoint-is-removed"}})
			return
		}
		s.listActions(w, r, nil)
	})
	s.handle("GET /v1/actions/{action_id}", func(w http.ResponseWriter, r *http.Request) { s.getAction(w, r, nil) })

	s.routesSSHKeys()

	s.routesServers()

	s.routesFirewalls()

	s.routesPrimaryIPs()

	s.routesVolumes()

	s.routesNetworks()

	s.routesPlacementGroups()

	for _, kind := range []struct{ path, typ string }{
		{"servers", "server"}, {"firewalls", "firewall"}, {"primary_ips", "primary_ip"}, {"volumes", "volume"}, {"networks", "network"},
	} {
		list, get, listOne, getOne := s.resourceActions(kind.typ)
		s.handle("GET /v1/"+kind.path+"/actions", list)
		s.handle("GET /v1/"+kind.path+"/actions/{action_id}", get)
		// "{id}/actions" would conflict with "actions/{action_id}" in
		// ServeMux; "{id}/{sub}" is less specific than the latter.
		s.handle("GET /v1/"+kind.path+"/{id}/{sub}", func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("sub") != "actions" {
				writeError(w, errNotFound("route"))
				return
			}
			listOne(w, r)
		})
		s.handle("GET /v1/"+kind.path+"/{id}/actions/{action_id}", getOne)
	}

	for _, key := range emptyLists {
		s.handle("GET /v1/"+key, func(w http.ResponseWriter, r *http.Request) {
			if _, e := parseListFilter(r); e != nil {
				writeError(w, e)
				return
			}
			s.writeList(w, r, key, nil, listSpec{sortFields: []string{"id", "name", "created"}})
		})
		s.handle("GET /v1/"+key+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, errNotFound(strings.TrimSuffix(key, "s")))
		})
	}
}

package hcloudsim

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type placementGroup struct {
	resource
	typ string
}

func (pg *placementGroup) schema(s *Sim) schema.PlacementGroup {
	out := schema.PlacementGroup{ID: pg.id, Name: pg.name, Labels: cloneLabels(pg.labels), Created: pg.created, Type: pg.typ, Servers: []int64{}}
	for _, srv := range s.st.servers {
		if srv.placement == pg.id {
			out.Servers = append(out.Servers, srv.id)
		}
	}
	slices.Sort(out.Servers)
	return out
}

var placementGroupKind = kind[*placementGroup]{key: "placement_group", items: func(st *state) map[int64]*placementGroup { return st.placementGroups },
	json: func(s *Sim, pg *placementGroup) any { return pg.schema(s) }, sortFields: []string{"id", "name", "created"}, nameTaken: "placement group name is already used"}

// placementGroupType filters placement groups by type=.
func placementGroupType(q url.Values) (func(*placementGroup) bool, *apiError) {
	types := q["type"]
	return func(pg *placementGroup) bool { return len(types) == 0 || slices.Contains(types, pg.typ) }, nil
}

func (s *Sim) createPlacementGroup(w http.ResponseWriter, r *http.Request) {
	var req schema.PlacementGroupCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	if checkName(req.Name) != nil {
		fields = append(fields, fieldError{"name", []string{"is required"}})
	}
	if req.Type != "spread" {
		fields = append(fields, fieldError{"type", []string{"must be spread"}})
	}
	if !admitCreate(w, fields, req.Labels) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := placementGroupKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	pg := &placementGroup{resource: resource{id: s.st.nextID("placement_group"), name: req.Name, labels: givenLabels(req.Labels), created: now()}, typ: req.Type}
	s.st.placementGroups[pg.id] = pg
	writeJSON(w, 201, schema.PlacementGroupCreateResponse{PlacementGroup: pg.schema(s)})
}

func (s *Sim) routesPlacementGroups() {
	s.handle("GET /v1/placement_groups", placementGroupKind.list(s, placementGroupType))
	s.handle("POST /v1/placement_groups", s.createPlacementGroup)
	s.handle("GET /v1/placement_groups/{id}", placementGroupKind.get(s))
	s.handle("PUT /v1/placement_groups/{id}", update(s, placementGroupKind,
		func(req *schema.PlacementGroupUpdateRequest) *apiError { return checkLabels(req.Labels) },
		func(pg *placementGroup, req *schema.PlacementGroupUpdateRequest) *apiError {
			name := ""
			if req.Name != nil && *req.Name != pg.name {
				if e := checkName(*req.Name); e != nil {
					return e
				}
				name = *req.Name
			}
			return placementGroupKind.rename(s, pg, name, req.Labels)
		}))
	s.handle("DELETE /v1/placement_groups/{id}", placementGroupKind.remove(s, func(pg *placementGroup) *apiError {
		if len(pg.schema(s).Servers) > 0 {
			return &apiError{status: 422, code: "resource_in_use", message: "servers are still in the placement group"}
		}
		return nil
	}))
}

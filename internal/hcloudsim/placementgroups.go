package hcloudsim

import (
	"net/http"
	"slices"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type placementGroup struct {
	id      int64
	name    string
	labels  map[string]string
	created time.Time
	typ     string
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

func (s *Sim) listPlacementGroups(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	types := r.URL.Query()["type"]
	s.mu.Lock()
	var rows []row
	for _, pg := range s.st.placementGroups {
		if f.match(pg.name, pg.labels) && (len(types) == 0 || slices.Contains(types, pg.typ)) {
			rows = append(rows, row{id: pg.id, name: pg.name, created: pg.created, render: func() any { return pg.schema(s) }})
		}
	}
	defer s.mu.Unlock()
	s.writeList(w, r, "placement_groups", rows, listSpec{sortFields: []string{"id", "name", "created"}})
}

func (s *Sim) placementGroupFromPath(w http.ResponseWriter, r *http.Request) *placementGroup {
	id, ok := pathID(w, r, "id")
	if !ok {
		return nil
	}
	pg := s.st.placementGroups[id]
	if pg == nil {
		writeError(w, errNotFound("placement_group"))
	}
	return pg
}

func (s *Sim) getPlacementGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pg := s.placementGroupFromPath(w, r); pg != nil {
		writeJSON(w, 200, schema.PlacementGroupGetResponse{PlacementGroup: pg.schema(s)})
	}
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
	if len(fields) > 0 {
		writeError(w, errInvalid(fields...))
		return
	}
	if req.Labels != nil {
		if e := checkLabels(*req.Labels); e != nil {
			writeError(w, e)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.st.placementGroups {
		if o.name == req.Name {
			writeError(w, errUnique("name", "placement group name is already used"))
			return
		}
	}
	pg := &placementGroup{id: s.st.nextID("placement_group"), name: req.Name, created: now(), typ: req.Type, labels: map[string]string{}}
	if req.Labels != nil {
		pg.labels = cloneLabels(*req.Labels)
	}
	s.st.placementGroups[pg.id] = pg
	writeJSON(w, 201, schema.PlacementGroupCreateResponse{PlacementGroup: pg.schema(s)})
}

func (s *Sim) updatePlacementGroup(w http.ResponseWriter, r *http.Request) {
	var req schema.PlacementGroupUpdateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Labels != nil {
		if e := checkLabels(*req.Labels); e != nil {
			writeError(w, e)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pg := s.placementGroupFromPath(w, r)
	if pg == nil {
		return
	}
	if req.Name != nil && *req.Name != pg.name {
		if e := checkName(*req.Name); e != nil {
			writeError(w, e)
			return
		}
		for _, o := range s.st.placementGroups {
			if o.name == *req.Name {
				writeError(w, errUnique("name", "placement group name is already used"))
				return
			}
		}
		pg.name = *req.Name
	}
	if req.Labels != nil {
		pg.labels = cloneLabels(*req.Labels)
	}
	writeJSON(w, 200, schema.PlacementGroupUpdateResponse{PlacementGroup: pg.schema(s)})
}

func (s *Sim) deletePlacementGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg := s.placementGroupFromPath(w, r)
	if pg == nil {
		return
	}
	if len(pg.schema(s).Servers) > 0 {
		writeError(w, &apiError{status: 422, code: "resource_in_use", message: "servers are still in the placement group"})
		return
	}
	delete(s.st.placementGroups, pg.id)
	w.WriteHeader(http.StatusNoContent)
}

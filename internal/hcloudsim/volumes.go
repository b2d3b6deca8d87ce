package hcloudsim

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type volume struct {
	id         int64
	name       string
	size       int
	location   *schema.Location
	server     int64
	labels     map[string]string
	created    time.Time
	protDelete bool
	format     *string
	status     string
}

func (v *volume) schema() schema.Volume {
	out := schema.Volume{ID: v.id, Name: v.name, Size: v.size, Location: *v.location, Status: v.status,
		Labels: cloneLabels(v.labels), Created: v.created, Format: v.format,
		Protection:  schema.VolumeProtection{Delete: v.protDelete},
		LinuxDevice: fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", v.id)}
	if v.server != 0 {
		id := v.server
		out.Server = &id
	}
	return out
}

func (s *Sim) listVolumes(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	statuses := r.URL.Query()["status"]
	s.mu.Lock()
	var rows []row
	for _, v := range s.st.volumes {
		if f.match(v.name, v.labels) && (len(statuses) == 0 || slices.Contains(statuses, v.status)) {
			rows = append(rows, row{id: v.id, name: v.name, created: v.created, render: func() any { return v.schema() }})
		}
	}
	defer s.mu.Unlock()
	s.writeList(w, r, "volumes", rows, listSpec{sortFields: []string{"id", "name", "created"}})
}

func (s *Sim) volumeFromPath(w http.ResponseWriter, r *http.Request) *volume {
	id, ok := pathID(w, r, "id")
	if !ok {
		return nil
	}
	v := s.st.volumes[id]
	if v == nil {
		writeError(w, errNotFound("volume"))
	}
	return v
}

func (s *Sim) getVolume(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.volumeFromPath(w, r); v != nil {
		writeJSON(w, 200, schema.VolumeGetResponse{Volume: v.schema()})
	}
}

func (s *Sim) createVolume(w http.ResponseWriter, r *http.Request) {
	var req schema.VolumeCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	if checkName(req.Name) != nil {
		fields = append(fields, fieldError{"name", []string{"is required"}})
	}
	if req.Size < 10 || req.Size > 10240 {
		fields = append(fields, fieldError{"size", []string{"must be between 10 and 10240 GB"}})
	}
	if req.Format != nil && *req.Format != "ext4" && *req.Format != "xfs" {
		fields = append(fields, fieldError{"format", []string{"must be ext4 or xfs"}})
	}
	if req.Server == nil && req.Location == nil {
		fields = append(fields, fieldError{"location", []string{"location or server is required"}})
	}
	var loc *schema.Location
	if req.Location != nil {
		if loc = lookupLocation(*req.Location); loc == nil {
			fields = append(fields, fieldError{"location", []string{"location not found"}})
		}
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
	for _, o := range s.st.volumes {
		if o.name == req.Name {
			writeError(w, errUnique("name", "volume name is already used"))
			return
		}
	}
	var srv *server
	if req.Server != nil {
		if srv = s.st.servers[*req.Server]; srv == nil {
			writeError(w, errField("server", "server not found"))
			return
		}
		if loc != nil && loc.Name != srv.location.Name {
			writeError(w, errField("location", "must be the server's location"))
			return
		}
		loc = srv.location
	}
	v := &volume{id: s.st.nextID("volume"), name: req.Name, size: req.Size, location: loc, created: now(),
		format: req.Format, status: "creating", labels: map[string]string{}}
	if req.Labels != nil {
		v.labels = cloneLabels(*req.Labels)
	}
	s.st.volumes[v.id] = v
	create := s.startAction(r, "create_volume", func(bool) { v.status = "available" }, ref("volume", v.id))
	resp := schema.VolumeCreateResponse{NextActions: []schema.Action{}}
	if srv != nil {
		v.server = srv.id
		srv.volumes = append(srv.volumes, v.id)
		attach := s.startAction(r, "attach_volume", nil, ref("volume", v.id), ref("server", srv.id))
		attach.after = create
		resp.NextActions = append(resp.NextActions, s.actionJSON(attach, time.Now()))
	}
	a := s.actionJSON(create, time.Now())
	resp.Action = &a
	resp.Volume = v.schema()
	writeJSON(w, 201, resp)
}

func (s *Sim) updateVolume(w http.ResponseWriter, r *http.Request) {
	var req schema.VolumeUpdateRequest
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
	v := s.volumeFromPath(w, r)
	if v == nil {
		return
	}
	if req.Name != "" && req.Name != v.name {
		for _, o := range s.st.volumes {
			if o.name == req.Name {
				writeError(w, errUnique("name", "volume name is already used"))
				return
			}
		}
		v.name = req.Name
	}
	if req.Labels != nil {
		v.labels = cloneLabels(*req.Labels)
	}
	writeJSON(w, 200, schema.VolumeUpdateResponse{Volume: v.schema()})
}

func (s *Sim) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.volumeFromPath(w, r)
	if v == nil {
		return
	}
	if v.protDelete {
		writeError(w, errProtected("volume"))
		return
	}
	if v.server != 0 {
		writeError(w, &apiError{status: 422, code: "resource_in_use", message: "volume is attached to a server; detach it first"})
		return
	}
	delete(s.st.volumes, v.id)
	w.WriteHeader(http.StatusNoContent)
}

func volumeAction[T any](s *Sim, do func(r *http.Request, v *volume, req *T) (*action, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := new(T)
		if e := decode(r, req); e != nil {
			writeError(w, e)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		v := s.volumeFromPath(w, r)
		if v == nil {
			return
		}
		a, e := do(r, v, req)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, 201, actionResponse{s.actionJSON(a, time.Now())})
	}
}

func (s *Sim) routesVolumeActions() {
	s.handle("POST /v1/volumes/{id}/actions/attach", volumeAction(s, func(r *http.Request, v *volume, req *schema.VolumeActionAttachVolumeRequest) (*action, *apiError) {
		srv := s.st.servers[req.Server]
		switch {
		case srv == nil:
			return nil, errField("server", "server not found")
		case v.server != 0:
			return nil, &apiError{status: 422, code: "volume_already_attached", message: "volume is already attached to a server"}
		case srv.location.Name != v.location.Name:
			return nil, errField("server", "server is in another location than the volume")
		}
		v.server = srv.id
		srv.volumes = append(srv.volumes, v.id)
		return s.startAction(r, "attach_volume", nil, ref("volume", v.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/detach", volumeAction(s, func(r *http.Request, v *volume, _ *struct{}) (*action, *apiError) {
		srv := s.st.servers[v.server]
		if srv == nil {
			return nil, &apiError{status: 422, code: "volume_not_attached", message: "volume is not attached"}
		}
		v.server = 0
		srv.volumes = slices.DeleteFunc(srv.volumes, func(id int64) bool { return id == v.id })
		return s.startAction(r, "detach_volume", nil, ref("volume", v.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/resize", volumeAction(s, func(r *http.Request, v *volume, req *schema.VolumeActionResizeVolumeRequest) (*action, *apiError) {
		if req.Size <= v.size || req.Size > 10240 {
			return nil, errField("size", "must be larger than the current size and at most 10240 GB")
		}
		v.size = req.Size
		return s.startAction(r, "resize_volume", nil, ref("volume", v.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/change_protection", volumeAction(s, func(r *http.Request, v *volume, req *schema.VolumeActionChangeProtectionRequest) (*action, *apiError) {
		if req.Delete == nil {
			return nil, errField("delete", "is required")
		}
		v.protDelete = *req.Delete
		return s.startAction(r, "change_protection", nil, ref("volume", v.id)), nil
	}))
}
